// output_queue.hpp - what one connection has yet to write, in order, and its
// size: where a reader too slow for the connection's limit is found.
//
// The limit bounds the bytes handed to the connection and not yet written
// (the write in progress included).  A piece is refused when the bytes
// already waiting exceed the limit: memory stays within the limit plus one
// piece, and one piece larger than the limit does not by itself cut a reader
// who keeps up.  The piece that ends a response is never refused (it is a few
// bytes, and ends what is queued).
//
// Ownership: the connection owns its queue; entries are shared with the write
// in progress.  Thread-safety: none; the connection's strand only.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "http_output.hpp"

namespace coe::serve {

// Runs once the exchange is over: with the status written, or 0 when aborted.
using Completion = std::function<void(unsigned status)>;
// Runs and clears `fs`; a callback's exception is swallowed (it must not take the connection down).
void run_completions(std::vector<Completion> &fs, unsigned status);

struct QueuedOutput {
    QueuedOutput(Output o, unsigned s, std::vector<Completion> c)
        : output(std::move(o)), status(s), on_complete(std::move(c)) {}
    Output output;
    unsigned status = 0;                  // the response's, when the output ends it
    std::vector<Completion> on_complete;  // run when the output ends a response: written, or not
};

class OutputQueue {
public:
    explicit OutputQueue(std::size_t limit_bytes) : limit_(limit_bytes) {}

    // Queues `entry` last; false (nothing queued) when the reader is too slow.
    bool push(std::shared_ptr<QueuedOutput> entry);
    bool empty() const { return entries_.empty(); }
    const std::shared_ptr<QueuedOutput> &front() const { return entries_.front(); }
    // The front entry is written.
    void pop();
    // Everything still queued, in order; the queue is left empty.
    std::deque<std::shared_ptr<QueuedOutput>> take_all();

    std::size_t bytes() const { return bytes_; }
    std::size_t limit() const { return limit_; }

private:
    const std::size_t limit_;
    std::size_t bytes_ = 0;
    std::deque<std::shared_ptr<QueuedOutput>> entries_;
};

}  // namespace coe::serve
