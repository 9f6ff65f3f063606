// _consult.Circle over coe::Circle, with an engine of its own.
//
// Threading: start() returns at once (coe/circle.py waits for the
// completion, on a threading.Event or an asyncio future); the circle's
// network thread calls the Python callbacks (events, completion) with the
// GIL taken for the call only, so a callback must be quick (coe/circle.py's
// set an event or hand the value to a loop with call_soon_threadsafe).  Python objects the network thread holds are
// released under the GIL, and the circle is destroyed with the GIL released,
// so its network thread can finish a last callback while it is joined.
#include "circle_binding.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <pybind11/stl.h>

#include "coe/consult.hpp"
#include "coe/experts.hpp"
#include "engine_options.hpp"
#include "python_errors.hpp"
#include "python_json.hpp"

namespace py = pybind11;

namespace coe::python {

namespace {

// A circle and the engine it analyses with (declared first: it outlives the
// circle).
struct NativeCircle {
    std::unique_ptr<Engine> engine;
    std::unique_ptr<Circle> circle;

    NativeCircle() = default;
    NativeCircle(const NativeCircle &) = delete;
    NativeCircle &operator=(const NativeCircle &) = delete;
    ~NativeCircle() {
        if (PyGILState_Check() != 0) {
            py::gil_scoped_release unlocked;
            circle.reset();
        } else {
            circle.reset();
        }
    }
};

// A Python callable that C++ copies freely on any thread: the copies share
// one reference, which the last of them drops under the GIL.
class SharedCallable {
public:
    explicit SharedCallable(py::object callable)
        : callable_(new py::object(std::move(callable)), [](py::object *p) {
              if (Py_IsInitialized() == 0) return;  // the interpreter is gone: nothing to release
              py::gil_scoped_acquire gil;
              delete p;
          }) {}

    // Calls it under the GIL.  What it raises is reported as unraisable and
    // never reaches the network thread.
    template <class... Args>
    void operator()(Args &&...args) const {
        if (Py_IsInitialized() == 0) return;
        py::gil_scoped_acquire gil;
        try {
            (*callable_)(std::forward<Args>(args)...);
        } catch (py::error_already_set &e) {
            e.discard_as_unraisable("coe circle callback");
        }
    }

private:
    std::shared_ptr<py::object> callable_;
};

// A consultation started by Circle.start(); cancel() may be called from any
// thread, any number of times, before or after it finished.
class Pending {
public:
    Pending(std::shared_ptr<NativeCircle> circle, std::shared_ptr<boost::asio::cancellation_signal> signal)
        : circle_(std::move(circle)), signal_(std::move(signal)) {}
    void cancel() {
        std::lock_guard<std::mutex> lock(mutex_);
        signal_->emit(boost::asio::cancellation_type::terminal);
    }

private:
    std::shared_ptr<NativeCircle> circle_;  // the circle outlives every cancel()
    std::shared_ptr<boost::asio::cancellation_signal> signal_;
    std::mutex mutex_;
};

ExpertsConfig experts_of(py::handle experts) {
    try {
        if (py::isinstance<py::str>(experts) || py::hasattr(experts, "__fspath__"))
            return load_experts_file(py::module_::import("os").attr("fspath")(experts).cast<std::string>());
        if (py::isinstance<py::dict>(experts)) return parse_experts(json_text_of(experts, "experts"), "experts");
    } catch (const InputProblem &e) {
        throw ConfigProblem(e.what());
    } catch (const Error &e) {
        throw ConfigProblem(e.what());
    }
    throw ConfigProblem("experts: expected a path to an experts file or a dict in its format ({\"experts\": [...]})");
}

std::shared_ptr<NativeCircle> make_circle(py::handle experts, py::handle backend, py::handle config,
                                          py::handle plugin_path) {
    ExpertsConfig parsed = experts_of(experts);
    EngineOptions options = engine_options(backend, config, plugin_path);
    auto native = std::make_shared<NativeCircle>();
    py::gil_scoped_release unlocked;
    try {
        native->engine = std::make_unique<Engine>(std::move(options));
        native->circle = std::make_unique<Circle>(*native->engine, std::move(parsed));
    } catch (const Error &e) {
        throw ConfigProblem(e.what());
    }
    return native;
}

// The options of `coe consult`; None (nullopt) keeps the library's default.
ConsultOptions consult_options(std::optional<std::uint32_t> quorum, std::optional<double> deadline_ms, bool review,
                               std::vector<std::string> reviewers, std::string synthesize, std::string system,
                               std::vector<std::string> experts, std::string id) {
    ConsultOptions o;
    if (quorum) o.quorum = *quorum;
    if (deadline_ms) {
        if (!(*deadline_ms >= 0)) throw InputProblem("deadline: must be a number of seconds >= 0");
        o.deadline = std::chrono::milliseconds(static_cast<std::int64_t>(*deadline_ms));
    }
    o.review = review || !reviewers.empty();
    o.reviewers = std::move(reviewers);
    o.synthesize = std::move(synthesize);
    o.system_prompt = std::move(system);
    o.experts = std::move(experts);
    o.id = std::move(id);
    return o;
}

std::string error_text(const std::exception_ptr &error) {
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &e) {
        return e.what();
    } catch (...) {
        return "the consultation failed with an unknown error";
    }
}

}  // namespace

void bind_circle(py::module_ &module) {
    py::class_<Pending, std::shared_ptr<Pending>>(module, "Pending", "A consultation started by Circle.start().")
        .def("cancel", &Pending::cancel,
             "Cancels every request still out; the completion then lists those experts as cancelled. "
             "Harmless once the consultation has finished.");

    py::class_<NativeCircle, std::shared_ptr<NativeCircle>>(module, "Circle", "The native circle; use coe.Circle.")
        .def(py::init(&make_circle), py::arg("experts"), py::arg("backend") = py::none(),
             py::arg("config") = py::none(), py::arg("plugin_path") = py::none())
        .def(
            "start",
            [](const std::shared_ptr<NativeCircle> &self, const std::string &question, py::object on_event,
               py::object on_done, std::optional<std::uint32_t> quorum, std::optional<double> deadline_ms, bool review,
               std::vector<std::string> reviewers, std::string synthesize, std::string system,
               std::vector<std::string> experts, std::string id) {
                ConsultOptions o =
                    consult_options(quorum, deadline_ms, review, std::move(reviewers), std::move(synthesize),
                                    std::move(system), std::move(experts), std::move(id));
                ConsultEventHandler events;
                if (!on_event.is_none()) {
                    SharedCallable call(std::move(on_event));
                    events = [call](const ConsultEvent &e) { call(to_json(e)); };
                }
                SharedCallable done(std::move(on_done));
                auto handler = [done](std::exception_ptr error, ConsultationResult result) {
                    if (error) done(false, error_text(error));
                    else done(true, to_json(result));
                };
                auto signal = std::make_shared<boost::asio::cancellation_signal>();
                {
                    py::gil_scoped_release unlocked;
                    try {
                        self->circle->async_consult(question, std::move(o), std::move(events),
                                                    boost::asio::bind_cancellation_slot(signal->slot(), handler));
                    } catch (const Error &e) {
                        throw InputProblem(e.what());
                    }
                }
                return std::make_shared<Pending>(self, std::move(signal));
            },
            R"(Starts a consultation and returns a Pending at once.  on_event(json_text)
is called for each event (None: no events) and on_done(ok, text) once at
the end (ok: the result's JSON text; else the error message), both on the
circle's network thread with the GIL held.)",
            py::arg("question"), py::arg("on_event"), py::arg("on_done"), py::kw_only(), py::arg("quorum") = py::none(),
            py::arg("deadline_ms") = py::none(), py::arg("review") = false,
            py::arg("reviewers") = std::vector<std::string>{}, py::arg("synthesize") = "", py::arg("system") = "",
            py::arg("experts") = std::vector<std::string>{}, py::arg("id") = "")
        .def_property_readonly("experts",
                               [](const NativeCircle &self) {
                                   std::vector<std::string> names;
                                   for (const auto &e : self.circle->experts().experts) names.push_back(e.name);
                                   return names;
                               })
        .def_property_readonly("backend", [](const NativeCircle &self) { return self.engine->active_backend(); })
        .def("performance_report",
             [](const NativeCircle &self) {
                 std::string text;
                 {
                     py::gil_scoped_release unlocked;
                     text = self.circle->performance_report();
                 }
                 return from_json(text);
             })
        .def("prometheus", [](const NativeCircle &self) {
            py::gil_scoped_release unlocked;
            return self.circle->performance_report_prometheus();
        });
}

}  // namespace coe::python
