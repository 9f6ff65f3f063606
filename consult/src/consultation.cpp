#include "consultation.hpp"

namespace coe::detail {

namespace {

constexpr const char *default_system_prompt =
    "You are one expert in a circle of experts answering the same question independently. "
    "Answer directly and concisely in markdown. Put concrete recommendations in a bulleted list under a "
    "'Recommendations' heading, and risks or caveats under a 'Limitations' heading.";

}  // namespace

Consultation::Consultation(boost::asio::io_context &io, net::CurlMultiClient &client, const Engine &engine,
                           std::vector<ExpertRuntime *> experts, ExpertTelemetry &telemetry, std::string question,
                           ConsultOptions options, ConsultEventHandler on_event, Done done, std::uint64_t seed)
    : io_(io), client_(client), engine_(engine), experts_(std::move(experts)), telemetry_(telemetry),
      options_(std::move(options)), on_event_(std::move(on_event)), done_(std::move(done)), seed_(seed),
      deadline_timer_(io) {
    result_.id = options_.id;
    result_.question = std::move(question);
    result_.answers.resize(experts_.size());
    for (std::size_t i = 0; i < experts_.size(); ++i) {  // not ok until it has answered
        result_.answers[i].expert = experts_[i]->config.name;
        result_.answers[i].status = "pending";
    }
    result_.quorum = options_.quorum == 0 ? static_cast<std::uint32_t>(experts_.size())
                                          : std::min<std::uint32_t>(options_.quorum, static_cast<std::uint32_t>(experts_.size()));
    finished_.assign(experts_.size(), false);
}

void Consultation::emit(const ConsultEvent &event) {
    if (!on_event_) return;
    try {
        on_event_(event);
    } catch (...) {
        // a handler's failure must not break the consultation (documented)
    }
}

void Consultation::start() {
    started_ = Clock::now();
    pending_ = experts_.size();
    const Clock::time_point deadline =
        options_.deadline.count() > 0 ? started_ + options_.deadline : Clock::time_point::max();
    if (options_.deadline.count() > 0) {
        deadline_timer_.expires_at(deadline);
        auto self = shared_from_this();
        deadline_timer_.async_wait([self](const boost::system::error_code &ec) {
            if (ec || self->completed_) return;
            self->cancel("timeout", "no answer before the consultation's deadline of " +
                                        std::to_string(self->options_.deadline.count()) + " ms");
        });
    }
    const std::uint32_t total = static_cast<std::uint32_t>(experts_.size());
    for (std::size_t i = 0; i < experts_.size(); ++i) {
        ExpertRuntime &x = *experts_[i];
        net::ChatPrompt prompt;
        prompt.system = !x.config.system_prompt.empty() ? x.config.system_prompt
                        : !options_.system_prompt.empty() ? options_.system_prompt
                                                          : default_system_prompt;
        prompt.question = result_.question;
        auto self = shared_from_this();
        const std::string name = x.config.name;
        ExpertCallHooks hooks;
        hooks.on_started = [self, name, total](std::uint32_t attempt) {
            if (attempt != 1) return;  // later attempts are announced by expert_retry
            ConsultEvent e(ConsultEvent::Type::expert_started);
            e.expert = name;
            e.attempt = attempt;
            e.answered = self->result_.answered;
            e.total = total;
            self->emit(e);
        };
        if (options_.deltas)
            hooks.on_delta = [self, name](std::string_view d) {
                ConsultEvent e(ConsultEvent::Type::expert_delta);
                e.expert = name;
                e.delta = std::string(d);
                self->emit(e);
            };
        hooks.on_retry = [self, name](const ExpertAnswer &failed, std::uint32_t next, double delay) {
            ConsultEvent e(ConsultEvent::Type::expert_retry);
            e.expert = name;
            e.attempt = next;
            e.retry_in_ms = delay;
            e.answer = &failed;
            self->emit(e);
        };
        hooks.on_done = [self, i](ExpertAnswer a) { self->expert_finished(i, std::move(a)); };
        calls_.push_back(std::make_shared<ExpertCall>(io_, client_, x, telemetry_, std::move(prompt), deadline,
                                                      seed_ + i * 0x9e3779b97f4a7c15ull, std::move(hooks)));
    }
    // Start them only now, so that an expert that fails at once (no key)
    // cannot complete the consultation before the others exist.
    const auto calls = calls_;  // complete() may clear calls_ while one starts
    for (std::size_t i = 0; i < calls.size() && !completed_; ++i) calls[i]->start();
    if (experts_.empty()) complete();
}

void Consultation::cancel(const std::string &status, const std::string &message) {
    if (completed_ || closing_) return;
    closing_ = true;
    for (auto &c : calls_) c->cancel(status, message);
    complete();
}

std::optional<Report> Consultation::analyze_answers(std::string &error) const {
    const Panel panel = result_.panel();
    if (panel.responses.empty()) {
        error = "no expert answered";
        return std::nullopt;
    }
    try {
        return engine_.analyze(panel.view(), options_.analysis);
    } catch (const std::exception &e) {
        error = e.what();
        return std::nullopt;
    }
}

void Consultation::expert_finished(std::size_t index, ExpertAnswer answer) {
    if (finished_[index]) return;
    finished_[index] = true;
    --pending_;
    result_.answers[index] = std::move(answer);
    const ExpertAnswer &a = result_.answers[index];
    if (a.ok()) ++result_.answered;
    ConsultEvent e(a.ok() ? ConsultEvent::Type::expert_done : ConsultEvent::Type::expert_failed);
    e.expert = a.expert;
    e.answer = &a;
    e.answered = result_.answered;
    e.total = static_cast<std::uint32_t>(experts_.size());
    emit(e);
    if (a.ok() && options_.stream_consensus && !closing_) {
        std::string error;
        latest_ = analyze_answers(error);
        if (latest_) {
            ConsultEvent c(ConsultEvent::Type::consensus);
            c.report = &*latest_;
            c.answered = result_.answered;
            c.total = e.total;
            emit(c);
        }
    }
    if (closing_) return;  // cancel() completes once every call has reported
    if (result_.answered >= result_.quorum && pending_ > 0) {
        cancel("cancelled", "not needed: the quorum of " + std::to_string(result_.quorum) + " answers was reached first");
        return;
    }
    if (pending_ == 0) complete();
}

void Consultation::complete() {
    if (completed_) return;
    completed_ = true;
    deadline_timer_.cancel();
    result_.quorum_met = result_.answered >= result_.quorum && result_.answered > 0;
    result_.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    // The consensus event's report already analysed exactly these answers
    // unless an answer came in after it (or none was computed).
    std::size_t in_latest = latest_ ? latest_->experts.size() : 0;
    if (!latest_ || in_latest != result_.answered) latest_ = analyze_answers(result_.analysis_error);
    result_.report = latest_;
    if (result_.report) result_.analysis_error.clear();
    ConsultEvent f(ConsultEvent::Type::final);
    f.report = result_.report ? &*result_.report : nullptr;
    f.result = &result_;
    f.answered = result_.answered;
    f.total = static_cast<std::uint32_t>(experts_.size());
    emit(f);
    calls_.clear();
    auto done = std::move(done_);
    done_ = nullptr;
    on_event_ = nullptr;
    if (done) done(nullptr, std::move(result_));
}

}  // namespace coe::detail
