#include "coe/batch_consultation.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json.hpp>

#include "coe/json_text.hpp"

namespace coe {

namespace {

namespace json = boost::json;

std::string id_of(const json::value &v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    throw Error("id: must be a string or an integer");
}

void read_question_fields(const json::object &o, BatchQuestion &q) {
    if (const json::value *id = o.if_contains("id")) q.id = id_of(*id);
    auto str = [&](const char *key) -> std::string {
        const json::value *f = o.if_contains(key);
        if (f == nullptr) return {};
        if (!f->is_string()) throw Error(std::string(key) + ": must be a string");
        return std::string(f->get_string());
    };
    q.text = str("question");
    if (q.text.empty()) {
        const std::string title = str("title"), content = str("content");
        q.text = title.empty() ? content : content.empty() ? title : title + "\n\n" + content;
    }
    if (q.text.find_first_not_of(" \t\r\n") == std::string::npos)
        throw Error("question: missing or empty (give \"question\", or \"title\"/\"content\")");
    if (const json::value *ex = o.if_contains("experts")) {
        if (!ex->is_array()) throw Error("experts: must be an array of expert names");
        for (const auto &n : ex->get_array()) {
            if (!n.is_string()) throw Error("experts: must be an array of expert names");
            q.experts.emplace_back(n.get_string());
        }
    }
}

// The lines of an earlier run's output: id -> line, for ids with a result.
std::map<std::string, std::string> read_previous(const BatchOptions &options) {
    std::map<std::string, std::string> done;
    std::ifstream in(options.output, std::ios::binary);
    if (!in) return done;  // nothing yet: a fresh start
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        json::error_code ec;
        json::value v = json::parse(line, ec);
        if (ec || !v.is_object() || !v.get_object().contains("id") || v.get_object().contains("error")) {
            if (ec && options.on_notice)
                options.on_notice(options.output + ":" + std::to_string(n) +
                                  ": dropped an incomplete line (asked again)");
            continue;
        }
        try {
            done[id_of(v.get_object().at("id"))] = line;
        } catch (const Error &) {}
    }
    return done;
}

// Writes every known line in input order, then the earlier run's answers
// of ids no longer in the batch, and replaces `output` atomically.
void rewrite_in_order(const std::string &output, const std::vector<BatchQuestion> &questions,
                      const std::vector<std::string> &results, const std::vector<bool> &known,
                      const std::map<std::string, std::string> &previous) {
    const std::string tmp = output + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        std::set<std::string> written;
        for (std::size_t i = 0; i < questions.size(); ++i)
            if (known[i]) {
                out << results[i] << "\n";
                written.insert(questions[i].id);
            }
        for (const auto &[id, line] : previous)
            if (!written.count(id)) out << line << "\n";
        if (!out) throw Error(tmp + ": cannot write");
    }
    if (std::rename(tmp.c_str(), output.c_str()) != 0) throw Error(output + ": cannot replace it");
}

// The state of one run, shared by the calling thread and the completion
// handlers (network thread) under `mutex`.
struct BatchRun {
    std::vector<BatchQuestion> questions;
    std::vector<std::string> results;  // the line for each question, once known
    std::vector<bool> known;
    std::vector<std::unique_ptr<boost::asio::cancellation_signal>> cancel;  // of questions started
    std::deque<std::size_t> todo;
    std::size_t in_flight = 0, next_out = 0;
    BatchSummary summary;
    std::ofstream appended;
    std::mutex mutex;
    std::condition_variable cv;

    void set_result(std::size_t i, std::string line) {
        results[i] = std::move(line);
        known[i] = true;
        ++summary.finished;
    }
};

bool stop_requested(const BatchOptions &options) { return options.stop != nullptr && options.stop->load(); }

void start_one(Circle &circle, BatchRun &run, std::size_t i, const BatchOptions &options) {
    const BatchQuestion &q = run.questions[i];
    run.cancel[i] = std::make_unique<boost::asio::cancellation_signal>();
    ++run.in_flight;
    auto done = [&run, &options, i](std::exception_ptr e, ConsultationResult r) {
        std::lock_guard<std::mutex> g(run.mutex);
        --run.in_flight;
        if (stop_requested(options)) return run.cv.notify_all();  // not complete: asked again on resume
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception &x) {
                run.questions[i].error = x.what();
            }
            run.set_result(i, batch_error_line(run.questions[i]));
            ++run.summary.failed;
        } else {
            run.set_result(i, to_json(r));
            if (!r.quorum_met) ++run.summary.failed;
            if (run.appended.is_open()) run.appended << run.results[i] << "\n" << std::flush;
        }
        run.cv.notify_all();
    };
    try {
        circle.async_consult(q.text, batch_question_options(q, options.consult), {},
                             boost::asio::bind_cancellation_slot(run.cancel[i]->slot(), std::move(done)));
    } catch (const Error &e) {  // e.g. an unknown expert name on this line
        --run.in_flight;
        run.questions[i].error = e.what();
        run.set_result(i, batch_error_line(run.questions[i]));
        ++run.summary.failed;
        if (options.on_notice) options.on_notice("line " + std::to_string(q.line) + ": " + e.what());
    }
}

}  // namespace

BatchQuestion parse_batch_question(std::string_view line_text, std::size_t line) {
    BatchQuestion q;
    q.line = line;
    q.id = "line-" + std::to_string(line);
    try {
        json::error_code ec;
        json::value v = json::parse(line_text, ec);
        if (ec) throw Error("invalid JSON: " + ec.message());
        if (!v.is_object()) throw Error("must be a JSON object with a \"question\"");
        read_question_fields(v.get_object(), q);
    } catch (const Error &e) {
        q.error = e.what();
    }
    return q;
}

ConsultOptions batch_question_options(const BatchQuestion &question, ConsultOptions base) {
    base.id = question.id;
    if (!question.experts.empty()) base.experts = question.experts;
    return base;
}

std::vector<BatchQuestion> read_batch_questions(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file + ": cannot open file");
    std::vector<BatchQuestion> out;
    std::set<std::string> ids;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        BatchQuestion q = parse_batch_question(line, n);
        const std::string where = file + ":" + std::to_string(n) + ": ";
        if (!q.error.empty()) q.error = where + q.error;
        else if (!ids.insert(q.id).second) q.error = where + "id '" + q.id + "' is used twice";
        out.push_back(std::move(q));
    }
    return out;
}

std::string batch_error_line(const BatchQuestion &question) {
    return json_text(json::object{{"line", question.line}, {"error", question.error}});
}

BatchSummary run_batch(Circle &circle, std::vector<BatchQuestion> questions, const BatchOptions &options) {
    BatchRun run;
    run.questions = std::move(questions);
    const std::size_t n = run.questions.size();
    run.results.resize(n);
    run.known.assign(n, false);
    run.cancel.resize(n);
    run.summary.total = n;
    const std::map<std::string, std::string> previous =
        options.resume && !options.output.empty() ? read_previous(options) : std::map<std::string, std::string>{};
    for (std::size_t i = 0; i < n; ++i) {
        const BatchQuestion &q = run.questions[i];
        if (!q.error.empty()) {
            run.set_result(i, batch_error_line(q));
            ++run.summary.failed;
            if (options.on_notice) options.on_notice(q.error);
        } else if (auto it = previous.find(q.id); it != previous.end()) {
            run.set_result(i, it->second);
            ++run.summary.resumed;
        } else {
            run.todo.push_back(i);
        }
    }
    if (run.summary.resumed > 0 && options.on_notice)
        options.on_notice(std::to_string(run.summary.resumed) + " questions already answered in " + options.output);
    if (!options.output.empty()) {
        run.appended.open(options.output, std::ios::binary | (options.resume ? std::ios::app : std::ios::trunc));
        if (!run.appended) throw Error(options.output + ": cannot open for writing");
    }

    const unsigned concurrency = options.concurrency == 0 ? 1 : options.concurrency;
    std::unique_lock<std::mutex> lock(run.mutex);
    auto emit_in_order = [&] {  // called with the lock held; the callbacks run without it
        std::vector<std::string> ready;
        while (run.next_out < n && run.known[run.next_out]) ready.push_back(run.results[run.next_out++]);
        const std::size_t finished = run.summary.finished;
        lock.unlock();
        if (options.on_result)
            for (const auto &line : ready) options.on_result(line);
        if (options.on_progress) options.on_progress(finished, n);
        lock.lock();
    };
    while (run.summary.finished < n && !stop_requested(options)) {
        while (run.in_flight < concurrency && !run.todo.empty() && !stop_requested(options)) {
            const std::size_t i = run.todo.front();
            run.todo.pop_front();
            start_one(circle, run, i, options);
        }
        emit_in_order();
        if (run.summary.finished < n && !stop_requested(options)) run.cv.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (stop_requested(options)) {  // cancel what is still out and wait for its handlers
        run.summary.interrupted = true;
        for (std::size_t i = 0; i < n; ++i)
            if (run.cancel[i] && !run.known[i]) run.cancel[i]->emit(boost::asio::cancellation_type::terminal);
        run.cv.wait(lock, [&] { return run.in_flight == 0; });
    }
    emit_in_order();
    lock.unlock();

    if (!options.output.empty()) {
        run.appended.close();
        rewrite_in_order(options.output, run.questions, run.results, run.known, previous);
    }
    return run.summary;
}

}  // namespace coe
