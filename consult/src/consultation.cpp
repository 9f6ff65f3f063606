#include "consultation.hpp"

#include <algorithm>
#include <numeric>

#include "deliberation/synthesis_prompt.hpp"

namespace coe::consult_detail {

namespace {

constexpr const char *default_system_prompt =
    "You are one expert in a circle of experts answering the same question independently. "
    "Answer directly and concisely in markdown. Put concrete recommendations in a bulleted list under a "
    "'Recommendations' heading, and risks or caveats under a 'Limitations' heading.";

}  // namespace

Consultation::Consultation(ConsultationParams p)
    : io_(p.io),
      client_(p.client),
      engine_(p.engine),
      experts_(std::move(p.experts)),
      deliberators_(std::move(p.deliberators)),
      telemetry_(p.telemetry),
      options_(std::move(p.options)),
      on_event_(std::move(p.on_event)),
      done_(std::move(p.done)),
      seed_(p.seed),
      deadline_timer_(p.io),
      given_(std::move(p.given)) {
    result_.id = options_.id;
    result_.question = std::move(p.question);
    if (given_) {  // the answers are in already
        for (const Response &r : given_->responses) {
            ExpertAnswer a;
            a.expert = r.expert;
            a.content = r.content;
            a.embedding = r.embedding;
            if (r.confidence) a.weight = *r.confidence;
            result_.answers.push_back(std::move(a));
        }
        result_.answered = result_.quorum = static_cast<std::uint32_t>(result_.answers.size());
        return;
    }
    result_.answers.resize(experts_.size());
    for (std::size_t i = 0; i < experts_.size(); ++i) {  // not ok until it has answered
        result_.answers[i].expert = experts_[i]->config.name;
        result_.answers[i].status = "pending";
    }
    const auto asked = static_cast<std::uint32_t>(experts_.size());
    result_.quorum = options_.quorum == 0 ? asked / 2 + 1 : std::min<std::uint32_t>(options_.quorum, asked);
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
    deadline_ = options_.deadline.count() > 0 ? started_ + options_.deadline : Clock::time_point::max();
    if (options_.deadline.count() > 0) {
        deadline_timer_.expires_at(deadline_);
        auto self = shared_from_this();
        deadline_timer_.async_wait([self](const boost::system::error_code &ec) {
            if (ec || self->completed_) return;
            self->cancel("timeout", "no answer before the consultation's deadline of " +
                                        std::to_string(self->options_.deadline.count()) + " ms");
        });
    }
    if (given_) return complete();
    const std::uint32_t total = static_cast<std::uint32_t>(experts_.size());
    for (std::size_t i = 0; i < experts_.size(); ++i) {
        ExpertRuntime &x = *experts_[i];
        net::ChatPrompt prompt;
        prompt.system = !x.config.system_prompt.empty()   ? x.config.system_prompt
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
        calls_.push_back(call(x, std::move(prompt), seed_ + i * 0x9e3779b97f4a7c15ull, std::move(hooks)));
    }
    // Start them only now, so that an expert that fails at once (no key)
    // cannot complete the consultation before the others exist.
    const auto calls = calls_;  // complete() may clear calls_ while one starts
    for (std::size_t i = 0; i < calls.size() && !completed_; ++i) calls[i]->start();
    if (experts_.empty()) complete();
}

std::shared_ptr<ExpertCall> Consultation::call(ExpertRuntime &expert, net::ChatPrompt prompt, std::uint64_t seed,
                                               ExpertCallHooks hooks) {
    return std::make_shared<ExpertCall>(io_, client_, expert, telemetry_, std::move(prompt), deadline_, seed,
                                        std::move(hooks));
}

void Consultation::cancel(const std::string &status, const std::string &message) {
    if (completed_ || stopped_) return;
    stopped_ = true;  // no further stage starts
    stop_status_ = status;
    stop_message_ = message;
    if (stage_ == Stage::answers) return close_answers(status, message);
    const auto calls = calls_;  // the stage's calls report, and the stage moves on
    for (auto &c : calls) c->cancel(status, message);
}

void Consultation::close_answers(const std::string &status, const std::string &message) {
    if (closing_) return;
    closing_ = true;
    const auto calls = calls_;
    for (auto &c : calls) c->cancel(status, message);
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
    // Only an explicit quorum cuts the others short; the default one (a
    // majority) waits for every expert, whose answers make the consensus.
    if (options_.quorum != 0 && result_.answered >= result_.quorum && pending_ > 0) {
        close_answers("cancelled",
                      "not needed: the quorum of " + std::to_string(result_.quorum) + " answers was reached first");
        return;
    }
    if (pending_ == 0) complete();
}

void Consultation::complete() {
    if (stage_ != Stage::answers) return;
    stage_ = Stage::review;  // (or further): no answer is taken any more
    result_.quorum_met = result_.answered >= result_.quorum && result_.answered > 0;
    if (deliberators_.embedder && result_.answered > 0 && !stopped_) return embed_answers();
    analyse_and_deliberate();
}

void Consultation::embed_answers() {
    std::vector<std::string> texts;
    std::vector<std::size_t> which;
    for (std::size_t i = 0; i < result_.answers.size(); ++i)
        if (result_.answers[i].ok() && result_.answers[i].embedding.empty()) {
            texts.push_back(result_.answers[i].content);
            which.push_back(i);
        }
    result_.embedder = deliberators_.embedder->config().name;
    if (texts.empty()) return analyse_and_deliberate();  // every answer came with its embedding
    texts.push_back(result_.question);                   // in the same request
    auto self = shared_from_this();
    deliberators_.embedder->embed(
        std::move(texts), [self, which](std::vector<std::vector<float>> vectors, std::string error) {
            if (self->completed_) return;
            if (error.empty()) {
                for (std::size_t k = 0; k < which.size(); ++k)
                    self->result_.answers[which[k]].embedding = std::move(vectors[k]);
                self->result_.question_embedding = std::move(vectors.back());
            } else self->result_.embedding_error = std::move(error);
            self->latest_.reset();  // the streamed consensus compared words; the final one compares meanings
            self->analyse_and_deliberate();
        },
        deadline_);
}

void Consultation::analyse_and_deliberate() {
    // The consensus event's report already analysed exactly these answers
    // unless an answer came in after it (or none was computed).
    std::size_t in_latest = latest_ ? latest_->experts.size() : 0;
    if (!latest_ || in_latest != result_.answered) latest_ = analyze_answers(result_.analysis_error);
    result_.report = latest_;
    if (result_.report) result_.analysis_error.clear();
    if (result_.report && !result_.embedding_error.empty()) {
        result_.report->degraded = true;
        result_.report->events.push_back("embedding: the embedder " + result_.embedder + " failed (" +
                                         result_.embedding_error + "); the answers were compared by TF-IDF instead");
    }
    panel_ = result_.panel();
    calls_.clear();
    if (options_.review && !stopped_ && result_.report && panel_.responses.size() >= 2) return start_review();
    start_synthesis();
}

void Consultation::start_review() {
    stage_ = Stage::review;
    std::vector<ExpertRuntime *> reviewers = deliberators_.reviewers;
    if (reviewers.empty())
        for (std::size_t i = 0; i < experts_.size(); ++i)
            if (result_.answers[i].ok()) reviewers.push_back(experts_[i]);
    std::vector<std::string> texts;
    for (const auto &r : panel_.responses) texts.push_back(r.content);
    result_.review.emplace();
    for (std::size_t k = 0; k < reviewers.size(); ++k) {
        std::uint32_t own = UINT32_MAX;
        for (std::uint32_t i = 0; i < panel_.responses.size(); ++i)
            if (panel_.responses[i].expert == reviewers[k]->config.name) own = i;
        reviews_.push_back({reviewers[k], own,
                            make_review_sheet(result_.question, texts, own, seed_ ^ ((k + 1) * 0xbf58476d1ce4e5b9ull)),
                            false, std::nullopt});
        ReviewOutcome::Review r;
        r.reviewer = reviewers[k]->config.name;
        r.status = "pending";
        result_.review->reviews.push_back(std::move(r));
    }
    reviews_pending_ = reviews_.size();
    for (std::size_t k = 0; k < reviews_.size(); ++k) {
        net::ChatPrompt prompt;
        prompt.system = review_system_prompt();
        prompt.question = reviews_[k].sheet.prompt;
        ExpertCallHooks hooks;
        auto self = shared_from_this();
        hooks.on_done = [self, k](ExpertAnswer a) { self->review_finished(k, std::move(a)); };
        calls_.push_back(call(*reviews_[k].reviewer, std::move(prompt), seed_ + 0x5eed + k, std::move(hooks)));
    }
    const auto calls = calls_;
    for (auto &c : calls) c->start();
    if (reviews_.empty()) start_synthesis();
}

void Consultation::review_finished(std::size_t k, ExpertAnswer answer) {
    if (reviews_[k].finished) return;
    reviews_[k].finished = true;
    ReviewOutcome::Review &r = result_.review->reviews[k];
    r.status = answer.status;
    r.error = answer.error;
    if (answer.ok()) {
        std::string why;
        if (auto ranking = parse_ranking(answer.content, reviews_[k].sheet, why)) {
            for (std::uint32_t i : *ranking) r.ranking.push_back(panel_.responses[i].expert);
            reviews_[k].ballot = Ballot{std::move(*ranking), reviews_[k].own};
        } else {
            r.status = "unparseable";  // a failed review, never a guess
            r.error = why;
        }
    }
    ConsultEvent e(ConsultEvent::Type::review_done);
    e.expert = r.reviewer;
    e.review = &r;
    e.answered = static_cast<std::uint32_t>(reviews_.size() - reviews_pending_ + 1);
    e.total = static_cast<std::uint32_t>(reviews_.size());
    emit(e);
    if (--reviews_pending_ > 0) return;
    score_review();
    start_synthesis();
}

void Consultation::score_review() {
    const auto n = static_cast<std::uint32_t>(panel_.responses.size());
    // in reviewer order, whatever order the reviews arrived in
    std::vector<Ballot> ballots;
    for (std::size_t k = 0; k < reviews_.size(); ++k) {
        if (reviews_[k].ballot) ballots.push_back(*reviews_[k].ballot);
        if (result_.review->reviews[k].status != "ok")
            result_.review->failed_reviewers.push_back(result_.review->reviews[k].reviewer);
    }
    const std::vector<RankedAnswer> ranked = aggregate_ballots(ballots, n);
    // the consensus' view: position by centrality, most central first (ties: earlier answer)
    std::vector<std::uint32_t> by_centrality(n);
    std::iota(by_centrality.begin(), by_centrality.end(), 0u);
    const auto &experts = result_.report->experts;
    std::stable_sort(by_centrality.begin(), by_centrality.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return experts[a].centrality > experts[b].centrality; });
    std::vector<double> central_score(n, 1.0);
    for (std::uint32_t pos = 0; pos < n && n > 1; ++pos)
        central_score[by_centrality[pos]] = static_cast<double>(n - 1 - pos) / static_cast<double>(n - 1);
    auto &scores = result_.review->answers;
    for (std::uint32_t i = 0; i < n; ++i) {
        ReviewOutcome::Score s;
        s.expert = panel_.responses[i].expert;
        s.borda = ranked[i].borda;
        s.times_ranked = ranked[i].times_ranked;
        s.borda_rank = ranked[i].borda_rank;
        s.schulze_rank = ranked[i].schulze_rank;
        s.schulze_wins = ranked[i].schulze_wins;
        s.combined = 0.5 * s.borda + 0.5 * central_score[i];
        scores.push_back(std::move(s));
    }
    std::vector<std::uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return scores[a].combined > scores[b].combined; });
    for (std::uint32_t pos = 0; pos < n; ++pos) scores[order[pos]].combined_rank = pos + 1;
}

void Consultation::start_synthesis() {
    stage_ = Stage::synthesis;
    calls_.clear();
    if (!deliberators_.chairman || !result_.report) return finish();
    result_.synthesis.emplace();
    result_.synthesis->chairman = deliberators_.chairman->config.name;
    if (stopped_) {
        result_.synthesis->status = stop_status_;
        result_.synthesis->error = "not started: " + stop_message_;
        return finish();
    }
    net::ChatPrompt prompt;
    prompt.system = chairman_system_prompt();
    prompt.question =
        synthesis_prompt(result_.question, panel_, *result_.report, result_.review ? &*result_.review : nullptr);
    ExpertCallHooks hooks;
    auto self = shared_from_this();
    const std::string chairman = result_.synthesis->chairman;
    hooks.on_delta = [self, chairman](std::string_view d) {
        ConsultEvent e(ConsultEvent::Type::synthesis_delta);
        e.expert = chairman;
        e.delta = std::string(d);
        self->emit(e);
    };
    hooks.on_done = [self](ExpertAnswer a) { self->synthesis_finished(std::move(a)); };
    calls_.push_back(call(*deliberators_.chairman, std::move(prompt), seed_ + 0xc4a1, std::move(hooks)));
    const auto calls = calls_;
    calls[0]->start();
}

void Consultation::synthesis_finished(ExpertAnswer answer) {
    if (stage_ != Stage::synthesis) return;
    SynthesisOutcome &s = *result_.synthesis;
    s.status = answer.status;
    s.error = answer.error;
    if (answer.ok()) s.content = std::move(answer.content);
    finish();
}

void Consultation::finish() {
    if (completed_) return;
    completed_ = true;
    stage_ = Stage::done;
    deadline_timer_.cancel();
    result_.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started_).count();
    choose_final_answer();
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

void Consultation::choose_final_answer() {
    if (!result_.report || panel_.responses.empty()) return;
    if (result_.synthesis && result_.synthesis->status == "ok") {
        result_.final_answer = result_.synthesis->content;
        result_.final_answer_from = "synthesis";
        return;
    }
    std::uint32_t chosen = 0;
    if (result_.review && !result_.review->answers.empty()) {
        for (std::uint32_t i = 0; i < result_.review->answers.size(); ++i)
            if (result_.review->answers[i].combined_rank == 1) chosen = i;
        result_.final_answer_from = "review";
    } else {
        const Report &r = *result_.report;
        if (!r.clusters.empty())
            chosen = r.clusters[std::min<std::size_t>(r.consensus.majority_cluster, r.clusters.size() - 1)]
                         .representative_index;
        result_.final_answer_from = "consensus";
    }
    result_.final_answer = panel_.responses.at(std::min<std::size_t>(chosen, panel_.responses.size() - 1)).content;
    if (result_.synthesis) {  // the chairman failed: say so, and answer with the best answer there is
        result_.report->degraded = true;
        result_.report->events.push_back(
            "synthesis: the chairman " + result_.synthesis->chairman + " failed (" + result_.synthesis->status +
            (result_.synthesis->error.empty() ? "" : ": " + result_.synthesis->error) + "); the final answer is the " +
            (result_.final_answer_from == "review" ? "top-ranked answer of the review"
                                                   : "majority's representative answer"));
    }
}

}  // namespace coe::consult_detail
