"""What the benchmark scripts say about the machine they ran on (stdlib only)."""
import platform


def cpu_model():
    """The CPU's model name from /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


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
