#include "http/admission.hpp"

#include <cmath>

#include <boost/asio/post.hpp>

#include "coe/internal/clock.hpp"

namespace coe::net {

using internal::Clock;

Admission::Admission(boost::asio::io_context &io, std::uint32_t max_concurrent, double requests_per_minute)
    : io_(io),
      max_concurrent_(max_concurrent == 0 ? 1 : max_concurrent),
      per_minute_(requests_per_minute),
      timer_(io),
      alive_(std::make_shared<bool>(true)) {}

Admission::~Admission() {
    *alive_ = false;
    timer_.cancel();
}

Admission::Ticket Admission::enqueue(std::function<void()> granted) {
    const Ticket t = next_++;
    waiting_.emplace_back(t, std::move(granted));
    pump();
    return t;
}

void Admission::withdraw(Ticket ticket) {
    waiting_.remove_if([ticket](const auto &w) { return w.first == ticket; });
}

void Admission::release() {
    if (in_flight_ > 0) --in_flight_;
    pump();
}

void Admission::pump() {
    const auto now = Clock::now();
    const auto minute = std::chrono::seconds(60);
    while (!started_.empty() && started_.front() + minute <= now) started_.pop_front();
    while (!waiting_.empty() && in_flight_ < max_concurrent_) {
        if (per_minute_ > 0 && started_.size() >= static_cast<std::size_t>(std::floor(per_minute_))) {
            if (!timer_armed_) {  // wake when the oldest start leaves the window
                timer_armed_ = true;
                timer_.expires_at(started_.front() + minute);
                timer_.async_wait([this, alive = alive_](const boost::system::error_code &ec) {
                    if (!*alive || ec) return;
                    timer_armed_ = false;
                    pump();
                });
            }
            return;
        }
        auto granted = std::move(waiting_.front().second);
        waiting_.pop_front();
        ++in_flight_;
        if (per_minute_ > 0) started_.push_back(now);
        boost::asio::post(io_, [alive = alive_, granted = std::move(granted)] {
            if (*alive) granted();
        });
    }
}

}  // namespace coe::net
