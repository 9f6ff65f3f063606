#include "output_queue.hpp"

#include <utility>

namespace coe::serve {

void run_completions(std::vector<Completion> &fs, unsigned status) {
    auto todo = std::move(fs);
    fs.clear();
    for (auto &f : todo) {
        try {
            f(status);
        } catch (...) {  // a callback's failure must not take the connection down
        }
    }
}

bool OutputQueue::push(std::shared_ptr<QueuedOutput> entry) {
    if (bytes_ > limit_ && !entry->output.ends_response()) return false;
    bytes_ += entry->output.size();
    entries_.push_back(std::move(entry));
    return true;
}

void OutputQueue::pop() {
    bytes_ -= entries_.front()->output.size();
    entries_.pop_front();
}

std::deque<std::shared_ptr<QueuedOutput>> OutputQueue::take_all() {
    bytes_ = 0;
    return std::exchange(entries_, {});
}

}  // namespace coe::serve
