// in_progress_acks.hpp - keeps the jobs a worker holds from being delivered
// again while it is still on them: every `interval` it sends JetStream's
// in-progress acknowledgement ("+WPI", which restarts the job's ack_wait) for
// every message it was given and not yet released.
//
// Ownership: the messages stay the caller's; release(msg) before the caller
// acknowledges, naks or destroys one, after which it is never touched here.
// Threading: one thread of its own, started by the constructor and joined by
// the destructor; add() and release() may be called from any thread.
// Errors: a failed in-progress ack is ignored (the next one may succeed; at
// worst the job is delivered again, which the results stream de-duplicates).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <nats/nats.h>

namespace coe::scaleout_detail {

class InProgressAcks {
public:
    explicit InProgressAcks(std::chrono::milliseconds interval);
    ~InProgressAcks();
    InProgressAcks(const InProgressAcks &) = delete;
    InProgressAcks &operator=(const InProgressAcks &) = delete;

    void add(natsMsg *msg);
    void release(natsMsg *msg);  // returns once no in-progress ack of `msg` is under way

    // The interval for a consumer's ack_wait: a third of it, so that two
    // lost in-progress acks in a row still leave the job with its worker.
    static std::chrono::milliseconds interval_for(std::chrono::milliseconds ack_wait);

private:
    void run();

    const std::chrono::milliseconds interval_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::vector<natsMsg *> held_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace coe::scaleout_detail
