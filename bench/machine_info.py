"""What the benchmark scripts say about the machine they ran on (stdlib only)."""
import platform


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, with its family and model
    numbers (a virtual machine may name only the vendor: "AMD EPYC")."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's fields only
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    if "cpu family" in fields:
        name += " (family %s model %s)" % (fields["cpu family"], fields.get("model", "?"))
    return name


def cpu_flags():
    """The CPU's feature flags from /proc/cpuinfo, as a set."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def blas_info():
    """The BLAS numpy runs on, as threadpoolctl reports it (after numpy is imported)."""
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                return "%s %s (%s, %s threads)" % (lib.get("internal_api"), lib.get("version"),
                                                   lib.get("architecture"), lib.get("num_threads"))
    except Exception:  # threadpoolctl missing or too old
        pass
    return "unknown"
