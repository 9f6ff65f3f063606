// `coe consult --batch questions.jsonl [--output OUT.jsonl | --resume OUT.jsonl]
//              [--concurrency N] [--experts FILE] [--quorum K] [--deadline 30s]`
//
// One question per line: {"id"?: string|int, "question": string} (or
// "title" and/or "content", joined by a blank line; "experts"?: [names]).
// At most N consultations run at once.  Without --output the results go
// to stdout as JSON Lines in input order.  With --output (or --resume) each
// result is appended to the file as soon as it is complete and flushed, so
// a crash or Ctrl-C loses nothing already received; when the batch ends the
// file is rewritten in input order.  --resume first reads the file and
// skips the ids it already answers.  A bad line gives {"line": N, "error"}
// and the others still run.  Exit 0, or 3 if some line failed or missed
// its quorum, 130 when interrupted.
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <boost/json.hpp>

#include "consult_cli.hpp"
#include "coe/report_format.hpp"
#include "coe/json_text.hpp"

namespace coe::cli {

namespace {

namespace json = boost::json;

struct Question {
    std::size_t line = 0;
    std::string id, text, error;
    std::vector<std::string> experts;
};

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

std::string id_of(const json::value &v) {
    if (v.is_string()) return std::string(v.get_string());
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    throw Error("id: must be a string or an integer");
}

Question read_question(const std::string &text, std::size_t line) {
    Question q;
    q.line = line;
    q.id = "line-" + std::to_string(line);
    try {
        json::error_code ec;
        json::value v = json::parse(text, ec);
        if (ec) throw Error("invalid JSON: " + ec.message());
        if (!v.is_object()) throw Error("must be a JSON object with a \"question\"");
        const json::object &o = v.get_object();
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
    } catch (const Error &e) {
        q.error = e.what();
    }
    return q;
}

std::vector<Question> read_questions(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file + ": cannot open file");
    std::vector<Question> out;
    std::set<std::string> ids;
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        Question q = read_question(line, n);
        if (!q.error.empty()) q.error = file + ":" + std::to_string(n) + ": " + q.error;
        else if (!ids.insert(q.id).second) q.error = file + ":" + std::to_string(n) + ": id '" + q.id + "' is used twice";
        out.push_back(std::move(q));
    }
    return out;
}

// The lines of an earlier run's output: id -> line, for ids with a result.
std::map<std::string, std::string> read_previous(const std::string &file) {
    std::map<std::string, std::string> done;
    std::ifstream in(file, std::ios::binary);
    if (!in) return done;  // nothing yet: a fresh start
    std::string line;
    for (std::size_t n = 1; std::getline(in, line); ++n) {
        if (line.empty()) continue;
        json::error_code ec;
        json::value v = json::parse(line, ec);
        if (ec || !v.is_object() || !v.get_object().contains("id") || v.get_object().contains("error")) {
            if (ec) std::cerr << "coe consult: " << file << ":" << n << ": dropped an incomplete line (asked again)\n";
            continue;
        }
        try {
            done[id_of(v.get_object().at("id"))] = line;
        } catch (const Error &) {
        }
    }
    return done;
}

std::string error_line(const Question &q) {
    json::object o{{"line", q.line}, {"error", q.error}};
    return coe::json_text(o);
}

class ProgressBar {
public:
    explicit ProgressBar(std::size_t total) : total_(total), enabled_(total > 1 && ::isatty(STDERR_FILENO)) {}
    void update(std::size_t done) const {
        if (!enabled_) return;
        const int width = 40, filled = static_cast<int>(width * done / total_);
        std::fprintf(stderr, "\r[%.*s%*s] %zu/%zu questions", filled, "########################################",
                     width - filled, "", done, total_);
        if (done == total_) std::fputc('\n', stderr);
        std::fflush(stderr);
    }

private:
    std::size_t total_;
    bool enabled_;
};

}  // namespace

int run_consult_batch(const ConsultArgs &args, const CommandLine &cl) {
    std::vector<Question> questions = read_questions(args.batch);
    if (questions.empty()) throw Error(args.batch + ": no questions in the file");
    std::map<std::string, std::string> previous = args.resume ? read_previous(args.output) : decltype(previous){};
    if (!args.output.empty() && !args.resume) std::ofstream(args.output, std::ios::trunc);  // a fresh file

    ExpertsConfig experts = load_experts(args, cl);
    // Everything the completion handlers touch is declared before the circle,
    // so that the circle (which cancels and completes what is still out) is
    // destroyed first on every way out.
    std::vector<std::string> results(questions.size());  // the line for each question, once known
    std::vector<bool> known(questions.size(), false);
    std::deque<std::size_t> todo;
    std::size_t failed = 0, skipped = 0;
    for (std::size_t i = 0; i < questions.size(); ++i) {
        const Question &q = questions[i];
        if (!q.error.empty()) {
            results[i] = error_line(q);
            known[i] = true;
            ++failed;
            std::cerr << "coe consult: " << q.error << "\n";
        } else if (auto it = previous.find(q.id); it != previous.end()) {
            results[i] = it->second;
            known[i] = true;
            ++skipped;
        } else {
            todo.push_back(i);
        }
    }
    if (skipped > 0) std::cerr << "coe consult: " << skipped << " questions already answered in " << args.output << "\n";

    std::ofstream appended;
    if (!args.output.empty()) {
        appended.open(args.output, std::ios::binary | std::ios::app);
        if (!appended) throw Error(args.output + ": cannot open for writing");
    }
    std::mutex mutex;
    std::condition_variable cv;
    std::size_t in_flight = 0, next_out = 0, finished = questions.size() - todo.size();
    ProgressBar bar(questions.size());
    Engine engine(cl.engine);
    std::optional<Circle> circle;
    circle.emplace(engine, std::move(experts));
    auto flush_in_order = [&] {  // stdout: the known prefix, in input order
        if (!args.output.empty()) return;
        while (next_out < questions.size() && known[next_out]) std::cout << results[next_out++] << "\n";
        std::cout.flush();
    };

    struct sigaction sa {}, old_int {}, old_term {};
    sa.sa_handler = on_interrupt;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    std::unique_lock<std::mutex> lock(mutex);
    flush_in_order();
    while (finished < questions.size()) {
        while (!interrupted && in_flight < args.concurrency && !todo.empty()) {
            const std::size_t i = todo.front();
            todo.pop_front();
            ++in_flight;
            ConsultOptions options = args.options;
            options.id = questions[i].id;
            if (!questions[i].experts.empty()) options.experts = questions[i].experts;
            try {
                circle->async_consult(questions[i].text, options, {},
                                     [&, i](std::exception_ptr e, ConsultationResult r) {
                                         std::lock_guard<std::mutex> g(mutex);
                                         --in_flight;
                                         if (interrupted) return cv.notify_all();  // not complete: asked again on resume
                                         ++finished;
                                         if (e) {
                                             try {
                                                 std::rethrow_exception(e);
                                             } catch (const std::exception &x) {
                                                 questions[i].error = x.what();
                                             }
                                             results[i] = error_line(questions[i]);
                                             ++failed;
                                         } else {
                                             results[i] = to_json(r);
                                             if (!r.quorum_met) ++failed;
                                             if (appended.is_open()) appended << results[i] << "\n" << std::flush;
                                         }
                                         known[i] = true;
                                         cv.notify_all();
                                     });
            } catch (const Error &e) {  // e.g. an unknown expert name on this line
                --in_flight;
                ++finished;
                ++failed;
                questions[i].error = args.batch + ":" + std::to_string(questions[i].line) + ": " + e.what();
                results[i] = error_line(questions[i]);
                known[i] = true;
                std::cerr << "coe consult: " << questions[i].error << "\n";
            }
        }
        flush_in_order();
        bar.update(finished);
        if (interrupted) break;  // what is still out is cancelled below
        cv.wait_for(lock, std::chrono::milliseconds(200));
    }
    lock.unlock();
    if (interrupted) {
        write_consult_report(args, *circle);
        circle.reset();  // cancels the consultations still out; their handlers discard them
    }
    sigaction(SIGINT, &old_int, nullptr);
    sigaction(SIGTERM, &old_term, nullptr);
    flush_in_order();

    if (!args.output.empty()) {  // the whole file again, in input order, replaced atomically
        appended.close();
        const std::string tmp = args.output + ".tmp";
        {
            std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
            std::set<std::string> written;
            for (std::size_t i = 0; i < questions.size(); ++i)
                if (known[i]) {
                    out << results[i] << "\n";
                    written.insert(questions[i].id);
                }
            for (const auto &[id, line] : previous)  // answers of ids no longer in the batch are kept
                if (!written.count(id)) out << line << "\n";
            if (!out) throw Error(tmp + ": cannot write");
        }
        if (std::rename(tmp.c_str(), args.output.c_str()) != 0) throw Error(args.output + ": cannot replace it");
    }
    if (!interrupted) write_consult_report(args, *circle);
    if (interrupted) {
        std::cerr << "coe consult: interrupted; " << finished << " of " << questions.size()
                  << " questions are answered" << (args.output.empty() ? "" : " (--resume " + args.output + " goes on)")
                  << "\n";
        return 130;
    }
    if (failed > 0) {
        std::cerr << "coe consult: " << failed << " of " << questions.size()
                  << " questions failed or missed their quorum\n";
        return 3;
    }
    return 0;
}

}  // namespace coe::cli
