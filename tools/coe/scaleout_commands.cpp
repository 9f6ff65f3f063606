// `coe submit`, `coe collect` and `coe worker`: batches shared by machines
// through NATS JetStream (coe/work_queue.hpp).
//
//   coe submit --nats URL FILE [--consult] [--batch ID] [--wait [--timeout D]]
//   coe collect --nats URL --batch ID [--timeout D] [--status]
//   coe worker --nats URL [--threads N] [--experts FILE] [--ack-wait D]
//              [--max-deliver N] [--quorum K] [--deadline D] [--retry-later D]
//
// submit prints the batch id (with --wait, the results, as collect does).
// collect prints one line per input line, in input order: the report (or
// consultation) JSON, or {"line", "error"}; exit 3 when some are missing
// after --timeout (default 10m; 0: what is there now) or some are errors.
// worker runs until SIGINT/SIGTERM, finishes the jobs in hand, exits 0.
#include <signal.h>

#include <boost/json.hpp>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "consult_cli.hpp"
#include "coe/work_queue.hpp"
#include "coe/json_text.hpp"

namespace coe::cli {
namespace {

struct QueueArgs {
    WorkQueueOptions queue;
    bool url_given = false;
    // takes the queue's own options; false if `x` is not one of them
    bool take(const std::string &x, ArgCursor &arg) {
        if (x == "--nats") {
            queue.url = arg.value();
            url_given = true;
        } else if (x == "--ack-wait") {
            queue.ack_wait = parse_duration(x, arg.value());
        } else if (x == "--max-deliver") {
            queue.max_deliver = static_cast<std::uint32_t>(parse_count(x, arg.value(), 1, 1000));
        } else {
            return false;
        }
        return true;
    }
    void require_url() const {
        if (!url_given) throw UsageError("--nats URL is needed (e.g. nats://127.0.0.1:4222)");
    }
};

template <class Handle>
void parse(const std::vector<std::string> &args, QueueArgs &q, Handle &&handle) {
    for (ArgCursor arg(args); arg.next();) {
        const std::string &x = arg.current();
        if (!q.take(x, arg) && !handle(x, arg)) throw UsageError("unknown argument '" + x + "'");
    }
    q.require_url();
}

// The jobs of an input file: its non-blank lines; a file that is one
// (pretty-printed) JSON document is one job.
std::vector<JobLine> read_jobs(const std::string &file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file + ": cannot open file");
    std::stringstream text;
    text << in.rdbuf();
    const std::string all = text.str();
    std::vector<JobLine> jobs;
    std::istringstream lines(all);
    std::string line;
    for (std::size_t n = 1; std::getline(lines, line); ++n)
        if (line.find_first_not_of(" \t\r") != std::string::npos) jobs.push_back({n, line});
    if (jobs.size() > 1) {
        boost::json::error_code ec;
        const auto doc = boost::json::parse(all, ec);
        if (!ec) return {{1, coe::json_text(doc)}};
    }
    if (jobs.empty()) throw Error(file + ": no lines to submit");
    return jobs;
}

int print_results(const BatchResults &r, const std::string &batch) {
    std::size_t errors = 0;
    for (std::size_t i = 0; i < r.expected; ++i) {
        auto it = r.lines.find(i);
        if (it == r.lines.end()) continue;
        std::cout << it->second << "\n";
        errors += it->second.rfind("{\"line\":", 0) == 0 ? 1 : 0;
    }
    std::cout.flush();
    if (!r.complete())
        std::cerr << "coe collect: batch " << batch << ": " << r.expected - r.lines.size() << " of " << r.expected
                  << " results are not in yet\n";
    if (errors) std::cerr << "coe collect: batch " << batch << ": " << errors << " of " << r.expected << " failed\n";
    return r.complete() && errors == 0 ? 0 : 3;
}

}  // namespace

int run_submit_command(const CommandLine &cl) {
    QueueArgs q;
    std::string file, batch;
    bool consult = false, wait = false;
    std::chrono::milliseconds timeout{600000};
    parse(cl.args, q, [&](const std::string &x, ArgCursor &arg) {
        if (x == "--consult") consult = true;
        else if (x == "--batch") batch = arg.value();
        else if (x == "--wait") wait = true;
        else if (x == "--timeout") timeout = parse_duration(x, arg.value());
        else if (!x.empty() && x[0] != '-' && file.empty()) file = x;
        else return false;
        return true;
    });
    if (file.empty()) throw UsageError("usage: coe submit --nats URL FILE [--consult] [--batch ID] [--wait]");
    batch = submit_batch(q.queue, consult ? JobKind::consult : JobKind::analyze, read_jobs(file), batch);
    if (!wait) {
        std::cout << batch << "\n";
        return 0;
    }
    std::cerr << "coe submit: batch " << batch << "\n";
    return print_results(collect_batch(q.queue, batch, timeout), batch);
}

int run_collect_command(const CommandLine &cl) {
    QueueArgs q;
    std::string batch;
    bool status = false;
    std::chrono::milliseconds timeout{600000};
    parse(cl.args, q, [&](const std::string &x, ArgCursor &arg) {
        if (x == "--batch") batch = arg.value();
        else if (x == "--timeout") timeout = parse_duration(x, arg.value());
        else if (x == "--status") status = true;
        else return false;
        return true;
    });
    if (batch.empty()) throw UsageError("usage: coe collect --nats URL --batch ID [--timeout D] [--status]");
    if (status) {
        const BatchResults r = collect_batch(q.queue, batch, std::chrono::milliseconds(0));
        std::cout << "batch " << batch << ": " << r.lines.size() << " of " << r.expected << " results, " << r.duplicates
                  << " duplicates\n";
        return 0;
    }
    return print_results(collect_batch(q.queue, batch, timeout), batch);
}

int run_worker_command(const CommandLine &cl) {
    QueueArgs q;
    WorkerOptions options;
    std::string experts_file;
    parse(cl.args, q, [&](const std::string &x, ArgCursor &arg) {
        if (x == "--threads") options.threads = static_cast<unsigned>(parse_count(x, arg.value(), 1, 1024));
        else if (x == "--experts") experts_file = arg.value();
        else if (x == "--quorum")
            options.consult.quorum = static_cast<std::uint32_t>(parse_count(x, arg.value(), 1, 100000));
        else if (x == "--deadline") options.consult.deadline = parse_duration(x, arg.value());
        else if (x == "--retry-later") options.rate_limited_delay = parse_duration(x, arg.value());
        else return false;
        return true;
    });
    // SIGINT/SIGTERM are taken by a thread of ours, before any other thread starts.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    Engine engine(cl.engine);
    std::optional<ExpertsConfig> experts = find_experts(experts_file, cl);
    std::unique_ptr<Circle> circle;
    if (experts) circle = std::make_unique<Circle>(engine, std::move(*experts));
    Worker worker(engine, circle.get(), q.queue, options);
    std::atomic<bool> done{false};
    std::thread waiter([&] {
        int sig = 0;
        sigwait(&signals, &sig);
        if (!done) std::cerr << "coe worker: stopping after the jobs in hand" << std::endl;
        worker.stop();
    });
    struct ReleaseWaiter {  // run() may also end by an error: the waiter must not outlive this scope
        std::thread &t;
        std::atomic<bool> &done;
        ~ReleaseWaiter() {
            done = true;
            pthread_kill(t.native_handle(), SIGTERM);  // blocked here, so it only wakes sigwait
            t.join();
        }
    } release{waiter, done};
    std::cerr << "coe worker: pulling jobs from " << q.queue.url << " (analyze" << (circle ? ", consult" : "") << "; "
              << options.threads << " at a time)" << std::endl;
    worker.run();
    std::cerr << "coe worker: stopped" << std::endl;
    return 0;
}

}  // namespace coe::cli
