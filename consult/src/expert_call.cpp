#include "expert_call.hpp"

#include <cstdlib>

namespace coe::consult_detail {

namespace {

constexpr std::size_t max_error_body = 64 * 1024;  // kept of a non-2xx body, for its message

double ms_between(Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
}

net::HttpLimits limits_of(const ExpertConfig &e) {
    net::HttpLimits l;
    l.connect_timeout_ms = e.connect_timeout_ms;
    l.first_byte_timeout_ms = e.first_byte_timeout_ms;
    l.idle_timeout_ms = e.idle_timeout_ms;
    l.total_timeout_ms = e.timeout_ms;
    l.max_body_bytes = e.max_response_bytes;
    l.ca_file = e.ca_file;
    return l;
}

}  // namespace

ExpertCall::ExpertCall(boost::asio::io_context &io, net::CurlMultiClient &client, ExpertRuntime &expert,
                       ExpertTelemetry &telemetry, net::ChatPrompt prompt, Clock::time_point deadline,
                       std::uint64_t seed, ExpertCallHooks hooks)
    : io_(io),
      client_(client),
      expert_(expert),
      telemetry_(telemetry),
      prompt_(std::move(prompt)),
      deadline_(deadline),
      hooks_(std::move(hooks)),
      rng_(seed),
      retry_timer_(io) {}

std::string ExpertCall::redact(std::string text) const {
    if (api_key_.size() < 4) return text;  // nothing meaningful to look for
    for (std::size_t p = text.find(api_key_); p != std::string::npos; p = text.find(api_key_, p))
        text.replace(p, api_key_.size(), "[redacted]");
    return text;
}

void ExpertCall::start() {
    started_ = Clock::now();
    const ExpertConfig &c = expert_.config;
    if (!c.api_key_env.empty()) {
        const char *key = std::getenv(c.api_key_env.c_str());
        if (key == nullptr || *key == '\0') {
            ExpertAnswer a;
            a.status = "config_error";
            a.error = "environment variable " + c.api_key_env + " (the expert's api_key_env) is not set";
            finish(std::move(a));
            return;
        }
        api_key_ = key;
    }
    auto self = shared_from_this();
    ticket_ = expert_.admission.enqueue([self] { self->admitted(); });
}

void ExpertCall::admitted() {
    ticket_ = 0;
    if (finished_) {
        expert_.admission.release();
        return;
    }
    holding_slot_ = true;
    attempt();
}

void ExpertCall::attempt() {
    const auto now = Clock::now();
    if (!expert_.breaker.try_acquire(now)) {
        ExpertAnswer a;
        a.status = "breaker_open";
        a.error = "circuit breaker open after repeated failures; the expert is probed again later";
        if (!last_error_.empty()) a.error += " (last error: " + last_error_ + ")";
        finish(std::move(a));
        return;
    }
    holding_permit_ = true;
    ++attempts_;
    attempt_started_ = now;
    first_token_ms_ = -1;
    success_status_ = false;
    error_body_.clear();
    abort_kind_.clear();
    abort_retryable_ = false;
    last_status_ = 0;
    if (hooks_.on_started) hooks_.on_started(attempts_);
    telemetry_.record_request(expert_.config.name);

    const bool stream = expert_.config.stream;
    decoder_ = expert_.provider.make_decoder(stream);
    decoded_ = net::DecodedAnswer{};
    decoded_.on_delta = [this](std::string_view d) {
        if (first_token_ms_ < 0) first_token_ms_ = ms_between(attempt_started_, Clock::now());
        if (hooks_.on_delta) hooks_.on_delta(d);
    };
    const net::HttpRequest request = expert_.provider.chat_request(expert_.config, prompt_, stream, api_key_);

    net::HttpCallbacks cb;
    cb.on_head = [this](const net::HttpHead &head, std::string &reason) {
        last_status_ = head.status;
        success_status_ = head.status >= 200 && head.status < 300;
        if (!success_status_) return true;  // the body is the error message
        return decode_step(reason, [&] { decoder_->start(head.content_type); });
    };
    cb.on_body = [this](std::string_view bytes, std::string &reason) {
        if (!success_status_) {
            if (error_body_.size() < max_error_body)
                error_body_.append(bytes.substr(0, max_error_body - error_body_.size()));
            return true;
        }
        return decode_step(reason, [&] { decoder_->feed(bytes, decoded_); });
    };
    auto self = shared_from_this();
    cb.on_done = [self](net::HttpResult r) {
        self->transfer_ = 0;
        self->attempt_done(std::move(r));
    };
    transfer_ = client_.start(request, limits_of(expert_.config), std::move(cb));
}

bool ExpertCall::decode_step(std::string &reason, const std::function<void()> &step) {
    try {
        step();
        return true;
    } catch (const net::ProviderError &e) {  // stops the transfer; attempt_done() reports it
        abort_kind_ = e.kind();
        abort_retryable_ = e.retryable();
        reason = e.what();
        return false;
    }
}

void ExpertCall::attempt_done(net::HttpResult r) {
    if (finished_) return;
    if (!r.failure.empty()) {
        if (r.failure == "aborted" && !abort_kind_.empty()) failed(abort_kind_, r.message, r.head, abort_retryable_);
        else failed(r.failure, r.message, r.head, false);
        return;
    }
    if (!success_status_) {
        const std::string msg = expert_.provider.error_message(error_body_);
        failed(net::http_failure_class(r.head.status),
               "HTTP " + std::to_string(r.head.status) + (msg.empty() ? "" : ": " + msg), r.head, false);
        return;
    }
    try {
        decoder_->finish(decoded_);
    } catch (const net::ProviderError &e) {
        failed(e.kind(), e.what(), r.head, e.retryable());
        return;
    }
    const auto now = Clock::now();
    holding_permit_ = false;
    expert_.breaker.record_success(ms_between(attempt_started_, now), now);
    ExpertAnswer a;
    a.content = std::move(decoded_.content);
    a.finish_reason = decoded_.finish_reason;
    a.tokens_in = decoded_.tokens_in.value_or(0);
    a.tokens_out = decoded_.tokens_out.value_or(0);
    a.first_token_ms = first_token_ms_;
    finish(std::move(a));
}

void ExpertCall::failed(std::string status, std::string message, const net::HttpHead &head, bool provider_retryable) {
    const auto now = Clock::now();
    holding_permit_ = false;
    expert_.breaker.record_failure(status, now);
    ExpertAnswer a;
    a.status = std::move(status);
    a.error = std::move(message);
    last_error_ = a.status + ": " + a.error;
    const ExpertConfig &c = expert_.config;
    if (attempts_ <= c.max_retries && net::should_retry(a.status, head, provider_retryable)) {
        const double delay = net::retry_delay_ms(retries_, c.backoff_initial_ms, c.backoff_max_ms,
                                                 net::server_retry_after_ms(head), rng_);
        const auto resume =
            now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(delay));
        if (resume < deadline_) {
            ++retries_;
            a.expert = c.name;
            a.http_status = last_status_;
            a.error = redact(a.error);
            if (hooks_.on_retry) hooks_.on_retry(a, attempts_ + 1, delay);
            if (holding_slot_) {  // let others use the slot while this one waits
                holding_slot_ = false;
                expert_.admission.release();
            }
            retry_timer_.expires_at(resume);
            auto self = shared_from_this();
            retry_timer_.async_wait([self](const boost::system::error_code &ec) {
                if (ec || self->finished_) return;
                self->ticket_ = self->expert_.admission.enqueue([self] { self->admitted(); });
            });
            return;
        }
        a.error += "; not retried: the wait of " + std::to_string(static_cast<long>(delay)) +
                   " ms would pass the consultation's deadline";
    }
    finish(std::move(a));
}

void ExpertCall::cancel(const std::string &status, const std::string &message) {
    if (finished_) return;
    if (transfer_ != 0) {
        client_.cancel(transfer_);
        transfer_ = 0;
    }
    if (holding_permit_) {  // abandoned: neither a success nor a failure of the expert
        holding_permit_ = false;
        expert_.breaker.release();
    }
    ExpertAnswer a;
    a.status = status;
    a.error = message;
    finish(std::move(a));
}

void ExpertCall::finish(ExpertAnswer a) {
    if (finished_) return;
    finished_ = true;
    retry_timer_.cancel();
    if (ticket_ != 0) {
        expert_.admission.withdraw(ticket_);
        ticket_ = 0;
    }
    if (holding_slot_) {
        holding_slot_ = false;
        expert_.admission.release();
    }
    const ExpertConfig &c = expert_.config;
    a.expert = c.name;
    a.provider = to_string(c.provider);
    a.model = c.model;
    a.weight = c.weight;
    a.http_status = last_status_;
    a.attempts = attempts_;
    a.retries = retries_;
    a.latency_ms = ms_between(started_, Clock::now());
    a.cost = static_cast<double>(a.tokens_in) / 1000.0 * c.cost_per_1k_input +
             static_cast<double>(a.tokens_out) / 1000.0 * c.cost_per_1k_output;
    a.error = redact(std::move(a.error));
    a.content = redact(std::move(a.content));
    decoder_.reset();
    telemetry_.record_answer(a);
    auto done = std::move(hooks_.on_done);
    hooks_ = {};
    if (done) done(std::move(a));
}

}  // namespace coe::consult_detail
