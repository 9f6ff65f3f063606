// `coe consult --batch questions.jsonl [--output OUT.jsonl | --resume OUT.jsonl]
//              [--concurrency N] [--experts FILE] [--quorum K] [--deadline 30s]`
//
// The batch itself (reading the questions, N consultations at a time,
// results in input order, the output file appended as results come and
// rewritten in input order at the end, --resume) is coe::run_batch
// (coe/batch_consultation.hpp).  This command adds what a terminal needs:
// stdout in input order when there is no --output, a progress bar, Ctrl-C
// and SIGTERM stopping the batch so that --resume can go on.  Exit 0, or 3
// if some line failed or missed its quorum, 130 when interrupted.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "coe/batch_consultation.hpp"
#include "consult_cli.hpp"

namespace coe::cli {

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_interrupt(int) { interrupted = true; }

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

// SIGINT and SIGTERM set `interrupted` while it lives.
class InterruptGuard {
public:
    InterruptGuard() {
        struct sigaction sa {};
        sa.sa_handler = on_interrupt;
        sigaction(SIGINT, &sa, &old_int_);
        sigaction(SIGTERM, &sa, &old_term_);
    }
    ~InterruptGuard() {
        sigaction(SIGINT, &old_int_, nullptr);
        sigaction(SIGTERM, &old_term_, nullptr);
    }
    InterruptGuard(const InterruptGuard &) = delete;
    InterruptGuard &operator=(const InterruptGuard &) = delete;

private:
    struct sigaction old_int_ {
    }, old_term_{};
};

}  // namespace

int run_consult_batch(const ConsultArgs &args, const CommandLine &cl, ExpertsConfig experts) {
    std::vector<BatchQuestion> questions = read_batch_questions(args.batch);
    if (questions.empty()) throw Error(args.batch + ": no questions in the file");
    const std::size_t total = questions.size();
    const ProgressBar bar(total);

    BatchOptions options;
    options.consult = args.options;
    options.concurrency = args.concurrency;
    options.output = args.output;
    options.resume = args.resume;
    options.stop = &interrupted;
    if (args.output.empty())
        options.on_result = [](const std::string &line) { std::cout << line << "\n" << std::flush; };
    options.on_progress = [&bar](std::size_t finished, std::size_t) { bar.update(finished); };
    options.on_notice = [](const std::string &message) { std::cerr << "coe consult: " << message << "\n"; };

    Engine engine(cl.engine);
    Circle circle(engine, std::move(experts));
    BatchSummary summary;
    {
        const InterruptGuard guard;
        summary = run_batch(circle, std::move(questions), options);
    }
    write_consult_report(args, circle);
    if (summary.interrupted) {
        std::cerr << "coe consult: interrupted; " << summary.finished << " of " << total << " questions are answered"
                  << (args.output.empty() ? "" : " (--resume " + args.output + " goes on)") << "\n";
        return 130;
    }
    if (summary.failed > 0) {
        std::cerr << "coe consult: " << summary.failed << " of " << total
                  << " questions failed or missed their quorum\n";
        return 3;
    }
    return 0;
}

}  // namespace coe::cli
