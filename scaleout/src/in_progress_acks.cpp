#include "in_progress_acks.hpp"

#include <algorithm>

namespace coe::scaleout_detail {

InProgressAcks::InProgressAcks(std::chrono::milliseconds interval)
    : interval_(std::max(interval, std::chrono::milliseconds(10))), thread_([this] { run(); }) {}

InProgressAcks::~InProgressAcks() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void InProgressAcks::add(natsMsg *msg) {
    std::lock_guard<std::mutex> lock(mutex_);
    held_.push_back(msg);
}

void InProgressAcks::release(natsMsg *msg) {
    std::lock_guard<std::mutex> lock(mutex_);  // the acks are sent under it: none of msg is under way after this
    held_.erase(std::remove(held_.begin(), held_.end(), msg), held_.end());
}

std::chrono::milliseconds InProgressAcks::interval_for(std::chrono::milliseconds ack_wait) { return ack_wait / 3; }

void InProgressAcks::run() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return stopping_; }))
        for (natsMsg *msg : held_) natsMsg_InProgress(msg, nullptr);
}

}  // namespace coe::scaleout_detail
