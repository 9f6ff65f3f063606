#include "providers/provider_json.hpp"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

namespace coe::net {

namespace json = boost::json;

boost::json::value parse_provider_json(std::string_view text, const char *what) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec)
        throw ProviderError("protocol_error", std::string("invalid JSON in ") + what + ": " + ec.message() + " (" +
                                                  excerpt(text, 120) + ")");
    return v;
}

std::string excerpt(std::string_view text, std::size_t max) {
    std::size_t n = std::min(text.size(), max);
    if (n < text.size())  // never cut inside a UTF-8 character
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
    std::string out;
    for (char c : text.substr(0, n)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    if (n < text.size()) out += "...";
    return out;
}

const json::value *at_path(const json::value &v, std::initializer_list<std::string_view> keys) {
    const json::value *cur = &v;
    for (std::string_view k : keys) {
        if (!cur->is_object()) return nullptr;
        cur = cur->get_object().if_contains(k);
        if (cur == nullptr) return nullptr;
    }
    return cur;
}

std::string string_at(const json::value &v, std::initializer_list<std::string_view> keys) {
    const json::value *x = at_path(v, keys);
    return x != nullptr && x->is_string() ? std::string(x->get_string()) : std::string();
}

std::optional<std::uint64_t> count_at(const json::value &v, std::initializer_list<std::string_view> keys) {
    const json::value *x = at_path(v, keys);
    if (x == nullptr) return std::nullopt;
    if (x->is_uint64()) return x->get_uint64();
    if (x->is_int64() && x->get_int64() >= 0) return static_cast<std::uint64_t>(x->get_int64());
    return std::nullopt;
}

std::string error_in(const json::value &v) {
    const json::value *e = at_path(v, {"error"});
    if (e == nullptr || e->is_null()) return "";
    if (e->is_string()) return std::string(e->get_string());
    std::string kind = string_at(*e, {"type"});
    if (kind.empty()) kind = string_at(*e, {"status"});
    if (kind.empty())
        if (auto code = count_at(*e, {"code"})) kind = std::to_string(*code);
    const std::string message = string_at(*e, {"message"});
    if (kind.empty()) return message.empty() ? excerpt(json::serialize(*e)) : message;
    return message.empty() ? kind : kind + ": " + message;
}

std::string error_message_of_body(std::string_view body) {
    const std::size_t first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return "";
    body = body.substr(first, body.find_last_not_of(" \t\r\n") + 1 - first);
    json::error_code ec;
    json::value v = json::parse(body, ec);
    if (!ec) {
        std::string m = error_in(v);
        if (!m.empty()) return excerpt(m, 500);
    }
    return excerpt(body);
}

bool media_type_is(std::string_view content_type, std::initializer_list<std::string_view> types) {
    std::string_view t = content_type.substr(0, content_type.find(';'));
    while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
    while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
    std::string lower;
    for (char c : t) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (std::string_view x : types)
        if (lower == x) return true;
    return false;
}

json::array chat_messages(const ChatPrompt &p) {
    json::array messages;
    if (!p.system.empty()) messages.push_back(json::object{{"role", "system"}, {"content", p.system}});
    messages.push_back(json::object{{"role", "user"}, {"content", p.question}});
    return messages;
}

void put_temperature(json::object &o, const ExpertConfig &e, std::string_view key) {
    if (e.temperature) o[key] = *e.temperature;
}

void WholeBodyDecoder::start(std::string_view content_type) {
    // Servers that omit the type are tolerated; a page of HTML is not an answer.
    if (!content_type.empty() && !media_type_is(content_type, {"application/json"}))
        throw ProviderError("protocol_error",
                            "expected application/json, got Content-Type " + excerpt(content_type, 80));
}

void WholeBodyDecoder::finish(DecodedAnswer &answer) {
    const json::value v = parse_provider_json(body_, "the response");
    const std::string err = error_in(v);
    if (!err.empty()) throw ProviderError("provider_error", err);
    decode(v, answer);
    answer.complete = true;
}

void SseDecoder::start(std::string_view content_type) {
    if (!media_type_is(content_type, {"text/event-stream"}))
        throw ProviderError("protocol_error",
                            "expected text/event-stream, got Content-Type " +
                                (content_type.empty() ? std::string("(none)") : excerpt(content_type, 80)));
}

void SseDecoder::feed(std::string_view bytes, DecodedAnswer &answer) {
    if (ended()) return;
    parser_.feed(bytes, [&](const SseParser::Event &e) {
        if (ended()) return;
        ++events_;
        handle(e, answer);
    });
}

void SseDecoder::finish(DecodedAnswer &answer) {
    if (ended()) return;
    if (parser_.has_partial_event()) throw ProviderError("protocol_error", "the stream ended inside an event");
    at_end(answer);
}

void NdjsonDecoder::start(std::string_view content_type) {
    if (!media_type_is(content_type, {"application/x-ndjson", "application/json", "application/jsonl"}))
        throw ProviderError("protocol_error",
                            "expected application/x-ndjson, got Content-Type " +
                                (content_type.empty() ? std::string("(none)") : excerpt(content_type, 80)));
}

void NdjsonDecoder::line(std::string_view text, DecodedAnswer &answer) {
    if (!ended()) handle(parse_provider_json(text, "a stream line"), answer);
}

void NdjsonDecoder::feed(std::string_view bytes, DecodedAnswer &answer) {
    if (ended()) return;
    parser_.feed(bytes, [&](std::string_view text) { line(text, answer); });
}

void NdjsonDecoder::finish(DecodedAnswer &answer) {
    if (ended()) return;
    parser_.finish([&](std::string_view text) { line(text, answer); });
    if (!ended()) at_end(answer);
}

}  // namespace coe::net
