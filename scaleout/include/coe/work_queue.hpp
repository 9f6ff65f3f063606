// work_queue.hpp - big batches shared by machines through NATS JetStream.
//
//   coe submit --nats URL panels.jsonl     -> a batch id
//   coe worker --nats URL                  on every machine, as many as wanted
//   coe collect --nats URL --batch ID      -> the results, in input order
//
// Streams (created on first use, by whichever side comes first):
//   <jobs_stream>     work queue; subjects coe.jobs.analyze.<batch> and
//                     coe.jobs.consult.<batch>; one message per input line
//                     (Nats-Msg-Id "<batch>.<index>": a repeated submit of the
//                     same batch id stores nothing twice)
//   <results_stream>  coe.results.<batch> (one message per job, Nats-Msg-Id
//                     "<batch>.<index>") and coe.manifest.<batch> (the count)
// Workers pull through durable consumers ("coe-analyze", "coe-consult"),
// store the result, and only then acknowledge the job; while they hold a
// job they send in-progress acks every third of ack_wait, so a job longer
// than ack_wait is not delivered twice.  A worker that dies mid-job leaves
// its job unacknowledged: JetStream delivers it again after ack_wait, to
// whichever worker asks next.  Results published twice (the
// first worker stored its result but died before acknowledging) are dropped
// by the results stream's duplicate window, and collect keeps one result
// per index in any case.  A job that fails or is lost max_deliver times ends
// as an error result, never as a hole.  A consultation that was refused
// with 429 by its experts is handed back (NAK) with a delay, to try later.
//
// Errors: every function throws coe::Error naming the server, the stream or
// the batch when NATS refuses; a bad input line becomes an error result.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "coe/consult.hpp"
#include "coe/engine.hpp"

namespace coe {

struct WorkQueueOptions {
    std::string url = "nats://127.0.0.1:4222";
    std::string jobs_stream = "COE_JOBS";
    std::string results_stream = "COE_RESULTS";
    std::chrono::milliseconds ack_wait{60000};            // redelivery after a worker went silent
    std::uint32_t max_deliver = 5;                        // deliveries of one job before it ends as an error
    std::chrono::milliseconds duplicate_window{3600000};  // of the results stream
};

enum class JobKind { analyze, consult };

// One input line to enqueue: its 1-based line number and text (a panel, or
// for consult a {"id"?, "question"} object).
struct JobLine {
    std::size_t line = 0;
    std::string text;
};

// Enqueues a batch; returns its id (`batch`, or a new unique one when empty;
// letters, digits, '-' and '_' only).
std::string submit_batch(const WorkQueueOptions &queue, JobKind kind, const std::vector<JobLine> &lines,
                         std::string batch = {});

struct BatchResults {
    std::size_t expected = 0;                  // jobs in the batch
    std::map<std::size_t, std::string> lines;  // index -> result line (report, consultation or error record)
    std::size_t duplicates = 0;                // results stored more than once (beyond the duplicate window)
    bool complete() const { return lines.size() == expected; }
};

// Reads the batch's results until all are in or `timeout` passed (zero:
// what is there now).  Throws coe::Error for an unknown batch.
BatchResults collect_batch(const WorkQueueOptions &queue, const std::string &batch, std::chrono::milliseconds timeout);

struct WorkerOptions {
    unsigned threads = 1;    // jobs worked on at once
    ConsultOptions consult;  // for consultation jobs
    // A consultation whose quorum failed because experts answered 429 is
    // handed back to the queue for this long (its last delivery is stored as it is).
    std::chrono::milliseconds rate_limited_delay{5000};
    // Called with each job done: (batch, index, ok); may be empty.
    std::function<void(const std::string &, std::size_t, bool)> on_job;
};

// Pulls jobs until stop(): analysis jobs always, consultation jobs when
// `circle` is given.  run() returns once every job in hand is stored and
// acknowledged (or handed back).  stop() may be called from any thread.
class Worker {
public:
    Worker(const Engine &engine, Circle *circle, WorkQueueOptions queue, WorkerOptions options);
    ~Worker();
    void run();
    void stop();

    class Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace coe
