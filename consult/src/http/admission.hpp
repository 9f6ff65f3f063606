// admission.hpp - per-expert admission control: at most max_concurrent
// requests in flight and at most requests_per_minute started in any 60 s
// window; the rest wait in arrival order.
//
// Threading: the io_context's thread only (like CurlMultiClient).  A
// granted callback is posted, never called from inside enqueue()/release().
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

namespace coe::net {

class Admission {
public:
    using Ticket = std::uint64_t;
    Admission(boost::asio::io_context &io, std::uint32_t max_concurrent, double requests_per_minute);
    ~Admission();

    // Queues a request; `granted` runs once a slot is free.  The holder of a
    // slot must call release() when its request ends.
    Ticket enqueue(std::function<void()> granted);
    // A request that no longer wants a slot (cancelled while waiting).
    void withdraw(Ticket ticket);
    void release();

    std::size_t waiting() const { return waiting_.size(); }
    std::uint32_t in_flight() const { return in_flight_; }

private:
    void pump();

    boost::asio::io_context &io_;
    const std::uint32_t max_concurrent_;
    const double per_minute_;
    std::uint32_t in_flight_ = 0;
    std::list<std::pair<Ticket, std::function<void()>>> waiting_;
    std::deque<std::chrono::steady_clock::time_point> started_;  // within the last minute
    boost::asio::steady_timer timer_;
    bool timer_armed_ = false;
    Ticket next_ = 1;
    std::shared_ptr<bool> alive_;
};

}  // namespace coe::net
