// coe.Engine over coe::Engine.  Every method takes its Python inputs (and
// builds its Python results) with the GIL held and releases the GIL while
// the engine parses, analyses and writes JSON, so several Python threads can
// analyse on one engine at once (coe::Engine is thread-safe).
#include "engine_binding.hpp"

#include <optional>
#include <string>
#include <vector>

#include "coe/cpu_features.hpp"
#include "coe/engine.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "engine_options.hpp"
#include "python_errors.hpp"
#include "python_json.hpp"

namespace py = pybind11;

namespace coe::python {

namespace {

std::string place_of(std::size_t index) { return "panels[" + std::to_string(index) + "]"; }

Panel parse_input(const std::string &text, const std::string &where) {
    try {
        return parse_panel(text, where);
    } catch (const Error &e) {
        throw InputProblem(e.what());
    }
}

py::object analyze(const Engine &engine, py::handle panel) {
    const std::string text = json_text_of(panel, "panel");
    std::string report;
    {
        py::gil_scoped_release unlocked;
        const Panel parsed = parse_input(text, "panel");
        try {
            report = to_json(engine.analyze(parsed.view()));
        } catch (const Error &e) {
            throw InputProblem(std::string("panel: ") + e.what());
        }
    }
    return from_json(report);
}

py::list analyze_many(const Engine &engine, py::handle panels, long long threads, const std::string &errors) {
    if (errors != "raise" && errors != "include")
        throw InputProblem("errors: expected 'raise' or 'include', not '" + errors + "'");
    if (threads < 0 || threads > 1024)
        throw InputProblem("threads: expected 0 (every core) to 1024, not " + std::to_string(threads));
    if (py::isinstance<py::str>(panels) || py::isinstance<py::bytes>(panels) || py::isinstance<py::dict>(panels) ||
        !py::isinstance<py::iterable>(panels))
        throw InputProblem("panels: expected an iterable of panels (dicts or JSON texts), not a " +
                           py::str(py::type::handle_of(panels).attr("__name__")).cast<std::string>() +
                           " (Engine.analyze takes one panel)");
    std::vector<std::string> texts;
    for (py::handle panel : panels) texts.push_back(json_text_of(panel, place_of(texts.size())));

    // out[i]: panel i's report JSON, or its error message when failed[i]
    std::vector<std::string> out(texts.size());
    std::vector<char> failed(texts.size(), 0);
    {
        py::gil_scoped_release unlocked;
        std::size_t next = 0;
        auto next_panel = [&]() -> std::optional<PanelLine> {
            if (next == texts.size()) return std::nullopt;
            const std::size_t i = next++;
            PanelLine line;
            line.line = i + 1;
            try {
                line.panel_or_error = parse_panel(texts[i], place_of(i));
            } catch (const Error &e) {
                line.panel_or_error = std::string(e.what());
            }
            std::string().swap(texts[i]);  // parsed: the text is no longer needed
            return line;
        };
        auto emit = [&](const PanelLine &line, const Engine::BatchResult &result) {
            const std::size_t i = line.line - 1;
            if (result.report) {
                out[i] = to_json(*result.report);
            } else {
                failed[i] = 1;
                // errors of the input name their place already; analysis errors get it here
                out[i] = std::holds_alternative<std::string>(line.panel_or_error) ? result.error
                                                                                  : place_of(i) + ": " + result.error;
            }
        };
        engine.analyze_stream(next_panel, emit, AnalysisOptions{}, static_cast<unsigned>(threads));
    }

    py::list reports;
    std::size_t failures = 0, first_failure = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (!failed[i]) {
            reports.append(from_json(out[i]));
            continue;
        }
        if (failures++ == 0) first_failure = i;
        py::dict error;
        error["index"] = i;
        error["error"] = out[i];
        reports.append(std::move(error));
    }
    if (failures > 0 && errors == "raise")
        throw InputProblem(out[first_failure] +
                           (failures > 1 ? " (and " + std::to_string(failures - 1) + " more panels failed)" : ""));
    return reports;
}

py::list strings(const std::vector<std::string> &values) {
    py::list list;
    for (const auto &v : values) list.append(v);
    return list;
}

// The fields and names of `coe backends --json`.
py::list backends(const Engine &engine) {
    std::vector<BackendInfo> infos;
    {
        py::gil_scoped_release unlocked;
        infos = engine.backends();
    }
    py::list list;
    for (const BackendInfo &b : infos) {
        py::dict d;
        d["name"] = b.name;
        d["id"] = b.id;
        d["version"] = b.version;
        d["file"] = b.file;
        d["source"] = b.source;
        d["abi"] = b.abi;
        d["required_features"] = strings(cpu_feature_names(b.required_features));
        d["score"] = b.score;
        d["status"] = to_string(b.status);
        d["reason"] = b.reason;
        d["ops"] = strings(b.operations);
        d["probe"] = b.probe;
        d["isolation"] = b.isolation;
        d["worker_restarts"] = b.worker_restarts;
        if (b.device) {
            py::dict device;
            device["type"] = b.device->type;
            device["name"] = b.device->name;
            device["driver"] = b.device->driver;
            device["memory_bytes"] = b.device->memory_bytes;
            d["device"] = std::move(device);
        } else {
            d["device"] = py::none();
        }
        list.append(std::move(d));
    }
    return list;
}

std::unique_ptr<Engine> make_engine(py::handle backend, py::handle config, py::handle plugin_path) {
    EngineOptions options = engine_options(backend, config, plugin_path);
    py::gil_scoped_release unlocked;
    try {
        return std::make_unique<Engine>(std::move(options));
    } catch (const Error &e) {
        throw ConfigProblem(e.what());
    }
}

}  // namespace

void bind_engine(py::module_ &module) {
    py::class_<Engine>(module, "Engine", R"(The analysis engine: probes the CPU, loads the best backend plugin, and
analyses panels (one question, the answers of N experts) into reports.

Engine(backend=None, config=None, plugin_path=None)
  backend: force a backend by name ('scalar', 'avx2', 'avx512', a plugin's);
           None: the best this CPU runs (or COE_BACKEND).
  config: an engine config file (JSON); None: COE_CONFIG when set.
  plugin_path: a plugin file or folder, or a list of them, searched first.
Raises coe.ConfigError when the engine cannot be built (a bad config, a
forced backend that is unknown or cannot run on this CPU).

Every method may be called from any number of threads at once; the GIL is
released while the engine works.)")
        .def(py::init(&make_engine), py::arg("backend") = py::none(), py::arg("config") = py::none(),
             py::arg("plugin_path") = py::none())
        .def("analyze", &analyze, py::arg("panel"),
             R"(Analyses one panel: a dict, or its JSON text, of the form
{"id"?, "question"?, "responses": [{"expert", "content", "confidence"?,
"recommendations"?, "limitations"?, "embedding"?}]}.
Returns the report as a dict, equal to `coe analyze --json` of the same
panel.  Raises coe.InputError naming the field of an invalid panel.)")
        .def("analyze_many", &analyze_many, py::arg("panels"), py::arg("threads") = 0, py::arg("errors") = "raise",
             R"(Analyses many panels (an iterable of dicts or JSON texts) on `threads`
threads (0: every core) and returns their reports in input order.
errors='raise': if any panel fails, raises coe.InputError naming the first
(panels[i]: ...) after all have run; errors='include': a failed panel's
place holds {"index": i, "error": message} instead.)")
        .def("backends", &backends,
             "Every backend candidate and what became of it: a list of dicts with the fields of "
             "`coe backends --json` (name, id, version, file, source, abi, required_features, score, "
             "status, reason, ops, probe).")
        .def_property_readonly(
            "backend", [](const Engine &e) { return e.active_backend(); }, "The name of the active backend.")
        .def(
            "performance_report",
            [](const Engine &e) {
                std::string text;
                {
                    py::gil_scoped_release unlocked;
                    text = e.performance_report();
                }
                return from_json(text);
            },
            "What the engine measured since it was built (calls and latency per backend and operation, "
            "breakers, panels, peak RSS, ...), as a dict.")
        .def(
            "prometheus",
            [](const Engine &e) {
                py::gil_scoped_release unlocked;
                return e.performance_report_prometheus();
            },
            "The performance report in the Prometheus text exposition format.");
}

}  // namespace coe::python
