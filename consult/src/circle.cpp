// Circle: the network thread, the per-expert state, and the consultations.
#include <algorithm>
#include <atomic>
#include <future>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "coe/consult.hpp"
#include "consultation.hpp"

namespace coe {

class Circle::Impl {
public:
    Impl(const Engine &e, ExpertsConfig cfg)
        : engine(e),
          config(std::move(cfg)),
          work(boost::asio::make_work_guard(io)),
          client(std::make_unique<net::CurlMultiClient>(io)),
          seed(static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count())) {
        if (config.embedder) embedder = std::make_unique<consult_detail::EmbeddingClient>(*client, *config.embedder);
        std::set<std::string> names;
        for (const ExpertConfig &x : config.experts) {
            if (!names.insert(x.name).second) throw Error("experts: the name '" + x.name + "' is used twice");
            experts.push_back(
                std::make_unique<consult_detail::ExpertRuntime>(io, x, config.breaker, seed ^ names.size()));
        }
        thread = std::thread([this] { io.run(); });
    }

    ~Impl() {
        boost::asio::post(io, [this] {
            const auto running = active;  // each cancel erases itself from `active`
            for (auto &c : running) c->cancel("cancelled", "the circle was shut down");
            active.clear();
            // Free curl's and the rate limiters' timers and sockets here, on
            // their thread; what is left queued is dropped by stop().
            embedder.reset();
            client.reset();
            experts.clear();
            work.reset();
            io.stop();
        });
        thread.join();
    }

    const Engine &engine;
    ExpertsConfig config;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work;
    std::unique_ptr<net::CurlMultiClient> client;
    std::unique_ptr<consult_detail::EmbeddingClient> embedder;  // when the config has one
    std::vector<std::unique_ptr<consult_detail::ExpertRuntime>> experts;
    consult_detail::ExpertTelemetry telemetry;
    std::set<std::shared_ptr<consult_detail::Consultation>> active;  // network thread only
    std::uint64_t seed;
    std::atomic<std::uint64_t> counter{0};
    std::thread thread;

    std::map<std::string, const internal::CircuitBreaker *> breakers() const {
        std::map<std::string, const internal::CircuitBreaker *> out;
        for (const auto &x : experts) out[x->config.name] = &x->breaker;
        return out;
    }
};

Circle::Circle(const Engine &engine, ExpertsConfig experts) {
    if (experts.experts.empty()) throw Error("experts: none configured");
    impl_ = std::make_unique<Impl>(engine, std::move(experts));
}

Circle::~Circle() = default;

const ExpertsConfig &Circle::experts() const { return impl_->config; }

boost::asio::any_io_executor Circle::executor() const { return impl_->io.get_executor(); }

std::function<void()> Circle::start(std::string question, ConsultOptions options, ConsultEventHandler on_event,
                                    Done done, const Panel *given) {
    if (question.find_first_not_of(" \t\r\n") == std::string::npos) throw Error("consult: the question is empty");
    auto find = [this](const std::string &name, const char *as) {
        auto it = std::find_if(impl_->experts.begin(), impl_->experts.end(),
                               [&](const auto &x) { return x->config.name == name; });
        if (it == impl_->experts.end())
            throw Error(std::string("consult: ") + as + ": no expert named '" + name + "' is configured");
        return it->get();
    };
    std::vector<consult_detail::ExpertRuntime *> chosen;
    if (given) {
        if (given->responses.empty()) throw Error("deliberate: the panel has no responses");
    } else if (options.experts.empty()) {
        for (auto &x : impl_->experts) chosen.push_back(x.get());
    } else {
        for (const std::string &name : options.experts) chosen.push_back(find(name, "experts"));
    }
    consult_detail::Deliberators deliberators;
    deliberators.embedder = impl_->embedder.get();
    for (const std::string &name : options.reviewers) deliberators.reviewers.push_back(find(name, "reviewers"));
    if (!options.reviewers.empty() && !options.review) throw Error("consult: reviewers are named but review is off");
    if (!options.synthesize.empty()) deliberators.chairman = find(options.synthesize, "synthesize");
    if (given && options.review && deliberators.reviewers.empty())  // the panel's authors are not ours
        for (auto &x : impl_->experts) deliberators.reviewers.push_back(x.get());
    std::optional<Panel> given_copy;
    if (given) given_copy = *given;
    const std::uint64_t n = ++impl_->counter;
    if (options.id.empty()) options.id = "consultation-" + std::to_string(n);
    Impl *impl = impl_.get();
    auto holder = std::make_shared<std::weak_ptr<consult_detail::Consultation>>();
    // The consultation is made and started on the network thread.
    boost::asio::post(
        impl->io, [impl, holder, chosen = std::move(chosen), deliberators = std::move(deliberators),
                   question = std::move(question), given_copy = std::move(given_copy), options = std::move(options),
                   on_event = std::move(on_event), done = std::move(done), n]() mutable {
            consult_detail::ConsultationParams params(impl->io, *impl->client, impl->engine, impl->telemetry);
            params.experts = std::move(chosen);
            params.deliberators = std::move(deliberators);
            params.question = std::move(question);
            params.options = std::move(options);
            params.on_event = std::move(on_event);
            params.seed = impl->seed + n * 7919;
            params.given = std::move(given_copy);
            auto c = std::make_shared<consult_detail::Consultation>(std::move(params));
            *holder = c;
            // Replace the completion so the circle forgets the consultation.
            auto wrapped = [impl, weak = std::weak_ptr<consult_detail::Consultation>(c), done = std::move(done)](
                               std::exception_ptr e, ConsultationResult r) {
                if (auto self = weak.lock()) impl->active.erase(self);
                done(e, std::move(r));
            };
            c->set_done(std::move(wrapped));
            impl->active.insert(c);
            c->start();
        });
    return [impl, holder] {
        boost::asio::post(impl->io, [holder] {
            if (auto c = holder->lock()) c->cancel("cancelled", "the consultation was cancelled");
        });
    };
}

ConsultationResult Circle::consult(const std::string &question, const ConsultOptions &options,
                                   ConsultEventHandler on_event) {
    std::promise<ConsultationResult> promise;
    auto future = promise.get_future();
    start(question, options, std::move(on_event), [&promise](std::exception_ptr e, ConsultationResult r) {
        if (e) promise.set_exception(e);
        else promise.set_value(std::move(r));
    });
    return future.get();
}

ConsultationResult Circle::deliberate(const Panel &panel, ConsultOptions options, ConsultEventHandler on_event) {
    if (options.id.empty()) options.id = panel.id;
    options.experts.clear();
    options.quorum = 0;
    std::promise<ConsultationResult> promise;
    auto future = promise.get_future();
    const std::string question = panel.question.empty() ? std::string("(no question given)") : panel.question;
    start(
        question, std::move(options), std::move(on_event),
        [&promise](std::exception_ptr e, ConsultationResult r) {
            if (e) promise.set_exception(e);
            else promise.set_value(std::move(r));
        },
        &panel);
    return future.get();
}

std::string Circle::performance_report() const { return impl_->telemetry.json(impl_->breakers()); }

std::string Circle::performance_report_prometheus() const { return impl_->telemetry.prometheus(impl_->breakers()); }

}  // namespace coe
