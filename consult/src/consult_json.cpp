// A consultation as JSON (for programs), as a panel, and as text (for people).
#include <algorithm>
#include <cmath>
#include <sstream>

#include <boost/json.hpp>

#include "coe/consult.hpp"
#include "coe/report_format.hpp"
#include "coe/json_text.hpp"

namespace coe {

namespace json = boost::json;

const char *to_string(ConsultEvent::Type type) {
    switch (type) {
    case ConsultEvent::Type::expert_started: return "expert_started";
    case ConsultEvent::Type::expert_delta: return "expert_delta";
    case ConsultEvent::Type::expert_retry: return "expert_retry";
    case ConsultEvent::Type::expert_done: return "expert_done";
    case ConsultEvent::Type::expert_failed: return "expert_failed";
    case ConsultEvent::Type::consensus: return "consensus";
    case ConsultEvent::Type::review_done: return "review_done";
    case ConsultEvent::Type::synthesis_delta: return "synthesis_delta";
    case ConsultEvent::Type::final: return "final";
    }
    return "unknown";
}

Panel ConsultationResult::panel() const {
    Panel p;
    p.id = id;
    p.question = question;
    for (const ExpertAnswer &a : answers) {
        if (!a.ok()) continue;
        Response r;
        r.expert = a.expert;
        r.content = a.content;
        if (a.weight < 1.0) r.confidence = a.weight;
        r.embedding = a.embedding;
        p.responses.push_back(std::move(r));
    }
    return p;
}

namespace {

double round3(double x) { return std::round(x * 1e3) / 1e3; }

json::array vector_json(const std::vector<float> &v) {
    json::array a;
    a.reserve(v.size());
    for (float f : v) a.emplace_back(static_cast<double>(f));
    return a;
}

json::object answer_json(const ExpertAnswer &a) {
    json::object o{{"expert", a.expert},
                   {"provider", a.provider},
                   {"model", a.model},
                   {"status", a.status},
                   {"content", a.content},
                   {"finish_reason", a.finish_reason},
                   {"latency_ms", round3(a.latency_ms)},
                   {"first_token_ms", round3(a.first_token_ms)},
                   {"tokens_in", a.tokens_in},
                   {"tokens_out", a.tokens_out},
                   {"cost", a.cost},
                   {"attempts", a.attempts},
                   {"retries", a.retries},
                   {"http_status", a.http_status}};
    if (!a.ok()) o["error"] = a.error;
    return o;
}

json::object report_object(const Report &r) { return json::parse(to_json(r)).as_object(); }

json::object review_json(const ReviewOutcome::Review &r) {
    json::array ranking;
    for (const auto &e : r.ranking) ranking.emplace_back(e);
    json::object o{{"reviewer", r.reviewer}, {"status", r.status}, {"ranking", std::move(ranking)}};
    if (r.status != "ok") o["error"] = r.error;
    return o;
}

json::object review_outcome_json(const ReviewOutcome &r) {
    json::array reviews, answers, failed;
    for (const auto &x : r.reviews) reviews.push_back(review_json(x));
    for (const auto &s : r.answers)
        answers.push_back(json::object{{"expert", s.expert},
                                       {"borda", round3(s.borda)},
                                       {"borda_rank", s.borda_rank},
                                       {"schulze_rank", s.schulze_rank},
                                       {"schulze_wins", s.schulze_wins},
                                       {"times_ranked", s.times_ranked},
                                       {"combined", round3(s.combined)},
                                       {"combined_rank", s.combined_rank}});
    for (const auto &f : r.failed_reviewers) failed.emplace_back(f);
    return {{"answers", std::move(answers)}, {"reviews", std::move(reviews)}, {"failed_reviewers", std::move(failed)}};
}

json::object result_object(const ConsultationResult &r) {
    json::object o = r.report ? report_object(*r.report) : json::object{{"id", r.id}, {"question", r.question}};
    json::array answers;
    for (const ExpertAnswer &a : r.answers) answers.push_back(answer_json(a));
    o["answers"] = std::move(answers);
    o["consultation"] = json::object{{"asked", r.answers.size()},
                                     {"answered", r.answered},
                                     {"quorum", r.quorum},
                                     {"quorum_met", r.quorum_met},
                                     {"elapsed_ms", round3(r.elapsed_ms)}};
    if (!r.report) o["analysis_error"] = r.analysis_error;
    if (r.review) o["review"] = review_outcome_json(*r.review);
    if (r.synthesis) {
        json::object s{{"chairman", r.synthesis->chairman}, {"status", r.synthesis->status}};
        if (r.synthesis->status == "ok") s["content"] = r.synthesis->content;
        else s["error"] = r.synthesis->error;
        o["synthesis"] = std::move(s);
    }
    if (!r.embedder.empty()) {
        json::object e{{"embedder", r.embedder}, {"status", r.embedding_error.empty() ? "ok" : "failed"}};
        if (!r.embedding_error.empty()) e["error"] = r.embedding_error;
        o["embedding"] = std::move(e);
    }
    o["final_answer"] = r.final_answer;
    o["final_answer_from"] = r.final_answer_from;
    return o;
}

// Control characters (ESC above all) never reach a terminal.
std::string printable(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 && c != '\n' && c != '\t') || u == 0x7f ? '?' : c;
    }
    return out;
}

// printable() on one line: line breaks and tabs become spaces.
std::string one_line(std::string_view s) {
    std::string out = printable(s);
    std::replace_if(
        out.begin(), out.end(), [](char c) { return c == '\n' || c == '\t' || c == '\r'; }, ' ');
    return out;
}

}  // namespace

std::string to_json(const ConsultationResult &result) { return coe::json_text(result_object(result)); }

std::string to_json(const ConsultEvent &e) {
    json::object o{{"type", to_string(e.type)}};
    if (!e.expert.empty()) o["expert"] = e.expert;
    switch (e.type) {
    case ConsultEvent::Type::expert_started: o["attempt"] = e.attempt; break;
    case ConsultEvent::Type::expert_delta: o["delta"] = e.delta; break;
    case ConsultEvent::Type::expert_retry:
        o["attempt"] = e.attempt;
        o["retry_in_ms"] = round3(e.retry_in_ms);
        if (e.answer) {
            o["status"] = e.answer->status;
            o["error"] = e.answer->error;
            o["http_status"] = e.answer->http_status;
        }
        break;
    case ConsultEvent::Type::expert_done:
    case ConsultEvent::Type::expert_failed:
        if (e.answer) o["answer"] = answer_json(*e.answer);
        o["answered"] = e.answered;
        o["total"] = e.total;
        break;
    case ConsultEvent::Type::consensus:
        o["answered"] = e.answered;
        o["total"] = e.total;
        if (e.report) o["report"] = report_object(*e.report);
        break;
    case ConsultEvent::Type::review_done:
        if (e.review)
            for (auto &kv : review_json(*e.review)) o[kv.key()] = kv.value();
        o["done"] = e.answered;
        o["total"] = e.total;
        break;
    case ConsultEvent::Type::synthesis_delta: o["delta"] = e.delta; break;
    case ConsultEvent::Type::final:
        if (e.result)
            for (auto &kv : result_object(*e.result)) o[kv.key()] = kv.value();
        break;
    }
    return coe::json_text(o);
}

std::string panel_json(const ConsultationResult &r) {
    json::array responses;
    for (const ExpertAnswer &a : r.answers) {
        if (!a.ok()) continue;
        json::object x{{"expert", a.expert},
                       {"content", a.content},
                       {"provider", a.provider},
                       {"model", a.model},
                       {"latency_ms", round3(a.latency_ms)},
                       {"tokens_in", a.tokens_in},
                       {"tokens_out", a.tokens_out}};
        if (a.weight < 1.0) x["confidence"] = a.weight;
        if (!a.embedding.empty()) x["embedding"] = vector_json(a.embedding);
        responses.push_back(std::move(x));
    }
    return coe::json_text(json::object{{"id", r.id}, {"question", r.question}, {"responses", std::move(responses)}});
}

std::string recording_json(const ConsultationResult &r) {
    json::array responses, reviews;
    for (const ExpertAnswer &a : r.answers) {
        if (!a.ok()) continue;
        json::object x{{"expert", a.expert}, {"content", a.content}};
        if (!a.embedding.empty()) x["embedding"] = vector_json(a.embedding);
        responses.push_back(std::move(x));
    }
    if (r.review)
        for (const auto &x : r.review->reviews) reviews.push_back(review_json(x));
    json::object o{{"id", r.id}, {"question", r.question}, {"embedder", r.embedder}};
    if (!r.question_embedding.empty()) o["question_embedding"] = vector_json(r.question_embedding);
    o["responses"] = std::move(responses);
    o["reviews"] = std::move(reviews);
    return coe::json_text(o);
}

std::string to_text(const ConsultationResult &r) {
    std::ostringstream out;
    out << "Consultation " << printable(r.id) << ": " << printable(r.question) << "\n"
        << r.answered << " of " << r.answers.size() << " experts answered (quorum " << r.quorum
        << (r.quorum_met ? " met" : " NOT met") << ") in " << static_cast<long>(r.elapsed_ms) << " ms\n";
    for (const ExpertAnswer &a : r.answers)  // who did not answer and why, one line each
        if (!a.ok()) out << "  " << one_line(a.expert) << " failed: " << a.status << ": " << one_line(a.error) << "\n";
    out << "\n";
    for (const ExpertAnswer &a : r.answers) {
        out << "== " << printable(a.expert) << " (" << a.provider << " " << printable(a.model) << "): ";
        if (a.ok()) {
            out << static_cast<long>(a.latency_ms) << " ms, " << a.tokens_in << " tokens in, " << a.tokens_out << " out"
                << (a.retries ? ", " + std::to_string(a.retries) + " retries" : "") << "\n"
                << printable(a.content) << (a.content.empty() || a.content.back() != '\n' ? "\n" : "") << "\n";
        } else {
            out << a.status << ": " << printable(a.error) << "\n\n";
        }
    }
    if (r.report) out << printable(to_text(*r.report));
    else out << "No consensus: " << printable(r.analysis_error) << "\n";
    if (r.review) {
        out << "\nPeer review (" << r.review->reviews.size() - r.review->failed_reviewers.size() << " of "
            << r.review->reviews.size() << " reviews usable):\n";
        std::vector<const ReviewOutcome::Score *> order;
        for (const auto &s : r.review->answers) order.push_back(&s);
        std::sort(order.begin(), order.end(), [](auto *a, auto *b) { return a->combined_rank < b->combined_rank; });
        for (const auto *s : order)
            out << "  " << s->combined_rank << ". " << printable(s->expert) << "  borda " << round3(s->borda)
                << " (rank " << s->borda_rank << "), schulze rank " << s->schulze_rank << ", ranked by "
                << s->times_ranked << "\n";
        for (const auto &x : r.review->reviews)
            if (x.status != "ok")
                out << "  review of " << printable(x.reviewer) << " failed: " << x.status << ": " << printable(x.error)
                    << "\n";
    }
    if (!r.final_answer.empty())
        out << "\nFinal answer (" << r.final_answer_from
            << (r.synthesis && r.synthesis->status == "ok" ? ", by " + printable(r.synthesis->chairman) : std::string())
            << "):\n"
            << printable(r.final_answer) << (r.final_answer.back() == '\n' ? "" : "\n");
    return out.str();
}

}  // namespace coe
