// engine_async.hpp - Engine::analyze on a Boost.Asio executor.
//
//   boost::asio::thread_pool pool(4);
//   std::future<coe::Report> f =
//       coe::analyze_async(engine, pool.get_executor(), panel, {}, boost::asio::use_future);
//
// The analysis runs on `executor`; the completion handler receives
// (std::exception_ptr, Report) on its associated executor (default:
// `executor`).  The engine and every text the panel views must stay alive
// and unchanged until the handler has run.
#pragma once

#include <exception>
#include <utility>

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "coe/engine.hpp"

namespace coe {

template <class Executor, class CompletionToken>
auto analyze_async(const Engine &engine, const Executor &executor, const PanelView &panel,
                   const AnalysisOptions &options, CompletionToken &&token) {
    auto initiation = [&engine, executor](auto handler, PanelView p, AnalysisOptions o) {
        // keeps the handler's executor busy until the handler has been handed to it
        auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler, executor));
        boost::asio::post(executor, [&engine, executor, handler = std::move(handler), p = std::move(p),
                                     o = std::move(o), work = std::move(work)]() mutable {
            std::exception_ptr error;
            Report report;
            try {
                report = engine.analyze(p, o);
            } catch (...) {
                error = std::current_exception();
            }
            auto handler_executor = boost::asio::get_associated_executor(handler, executor);
            boost::asio::dispatch(handler_executor,
                                  [handler = std::move(handler), error, report = std::move(report)]() mutable {
                                      std::move(handler)(error, std::move(report));
                                  });
            work.reset();
        });
    };
    return boost::asio::async_initiate<CompletionToken, void(std::exception_ptr, Report)>(std::move(initiation), token,
                                                                                          panel, options);
}

}  // namespace coe
