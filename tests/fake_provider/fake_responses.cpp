#include "fake_responses.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <ctime>
#include <optional>
#include <sstream>

#include <boost/json.hpp>

#include "directives.hpp"
#include "wire_formats.hpp"

namespace coe::test {

namespace json = boost::json;

namespace {

// A peer review of the answers in a review prompt ("Answer A:\n...\n\n"):
//   longest | shortest   rank by answer length (ties: earlier label), so the
//                        ranking of the answers is the same whatever labels
//                        and order they were shown under
//   alphabetical         A > B > C ...
//   none                 no RANKING line;   duplicate   the first label twice
std::string review_of(const std::string &prompt, const std::string &how) {
    std::vector<std::pair<char, std::size_t>> answers;  // label, length
    for (std::size_t at = prompt.find("Answer "); at != std::string::npos; at = prompt.find("Answer ", at + 1)) {
        if (at + 9 > prompt.size() || prompt[at + 8] != ':' || prompt[at + 9] != '\n') continue;
        const char label = prompt[at + 7];
        const std::size_t start = at + 10;
        std::size_t end = prompt.find("\n\nAnswer ", start);
        if (end == std::string::npos) end = prompt.find("\n\nRank the answers", start);
        if (end == std::string::npos) end = prompt.size();
        answers.emplace_back(label, end - start);
    }
    if (how == "none") return "They are all fine answers.";
    std::stable_sort(answers.begin(), answers.end(), [&](const auto &x, const auto &y) {
        if (how == "longest") return x.second > y.second;
        if (how == "shortest") return x.second < y.second;
        return x.first < y.first;
    });
    std::string ranking;
    for (const auto &a : answers) ranking += std::string(ranking.empty() ? "" : " > ") + a.first;
    if (how == "duplicate" && !answers.empty()) ranking += std::string(" > ") + answers.front().first;
    return "I compared the answers on correctness and usefulness.\n\n**RANKING: " + ranking + "**\n";
}

// Embeddings that behave like meanings enough for tests: each lower-cased
// word (with a few synonyms folded) adds 1 to the dimension its FNV hash
// picks, then the vector is normalised.  `dims` dimensions (default 64).
std::vector<double> fake_embedding(const std::string &text, std::size_t dims) {
    static const std::map<std::string, std::string> same = {
        {"caching", "cache"}, {"cached", "cache"}, {"redis", "cache"}, {"memcached", "cache"}};
    std::vector<double> v(dims, 0.0);
    std::string word;
    auto flush = [&] {
        if (word.empty()) return;
        auto it = same.find(word);
        const std::string &w = it == same.end() ? word : it->second;
        std::uint64_t h = 0xcbf29ce484222325ull;
        for (char c : w) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
        v[h % dims] += 1.0;
        word.clear();
    };
    for (char c : text) {
        if (std::isalnum(static_cast<unsigned char>(c)))
            word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        else flush();
    }
    flush();
    double norm = 0;
    for (double x : v) norm += x * x;
    if (norm == 0) v[0] = norm = 1;
    for (double &x : v) x /= std::sqrt(norm);
    return v;
}

std::string embeddings_body(Provider provider, const json::value &request, const std::string &model, std::size_t dims) {
    const json::value *input = request.is_object() ? request.as_object().if_contains("input") : nullptr;
    std::vector<std::string> texts;
    if (input && input->is_string()) texts.emplace_back(input->as_string());
    if (input && input->is_array())
        for (const auto &t : input->as_array())
            if (t.is_string()) texts.emplace_back(t.as_string());
    json::array vectors;
    std::size_t words_in = 0;
    for (const auto &t : texts) {
        json::array v;
        for (double x : fake_embedding(t, dims)) v.emplace_back(x);
        vectors.push_back(std::move(v));
        words_in += t.size() / 5 + 1;
    }
    if (provider == Provider::ollama)
        return json::serialize(json::object{{"model", model}, {"embeddings", std::move(vectors)}});
    json::array data;
    for (std::size_t i = 0; i < vectors.size(); ++i)
        data.push_back(json::object{{"object", "embedding"}, {"index", i}, {"embedding", std::move(vectors[i])}});
    return json::serialize(json::object{{"object", "list"},
                                        {"data", std::move(data)},
                                        {"model", model},
                                        {"usage", {{"prompt_tokens", words_in}, {"total_tokens", words_in}}}});
}

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Route {
    std::optional<Provider> provider;  // none: no such route
    bool embeddings = false;           // OpenAI /v1/embeddings or Ollama /api/embed
    bool gemini_stream = false;
    std::string gemini_model;
};

bool ends_with(const std::string &s, const std::string &tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string percent_decode(const std::string &s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

Route route_of(const ParsedRequest &r) {
    Route route;
    if (r.method != "POST") return route;
    const std::string path = r.target.substr(0, r.target.find('?'));
    if (ends_with(path, "/v1/chat/completions")) route.provider = Provider::openai;
    if (ends_with(path, "/api/chat")) route.provider = Provider::ollama;
    if (ends_with(path, "/v1/messages")) route.provider = Provider::anthropic;
    if (ends_with(path, "/v1/embeddings")) route.provider = Provider::openai, route.embeddings = true;
    if (ends_with(path, "/api/embed")) route.provider = Provider::ollama, route.embeddings = true;
    const auto models = path.find("/v1beta/models/");
    if (models != std::string::npos) {
        const std::string rest = path.substr(models + 15);
        const auto colon = rest.rfind(':');
        const std::string method = colon == std::string::npos ? "" : rest.substr(colon + 1);
        if (method == "generateContent" || method == "streamGenerateContent") {
            route.provider = Provider::gemini;
            route.gemini_stream = method == "streamGenerateContent";
            route.gemini_model = percent_decode(rest.substr(0, colon));
        }
    }
    return route;
}

const json::value *field(const json::value *v, const char *key) {
    return v != nullptr && v->is_object() ? v->as_object().if_contains(key) : nullptr;
}

// The text of a message's content: a string, an array of {"text"} parts,
// or an object with "parts" (Gemini).
std::string text_of(const json::value *v) {
    if (v == nullptr) return "";
    if (v->is_string()) return std::string(v->as_string());
    if (const json::value *parts = field(v, "parts")) return text_of(parts);
    std::string out;
    if (v->is_array())
        for (const auto &part : v->as_array())
            if (const json::value *t = field(&part, "text"); t != nullptr && t->is_string())
                out += (out.empty() ? "" : "\n") + std::string(t->as_string());
    return out;
}

std::size_t words(const std::string &s) {
    std::istringstream in(s);
    std::size_t n = 0;
    for (std::string w; in >> w;) ++n;
    return n;
}

// Words of every message text (system prompts included); the last user text.
std::pair<std::size_t, std::string> read_messages(Provider provider, const json::value &body) {
    std::size_t count = 0;
    std::string last_user;
    const bool gemini = provider == Provider::gemini;
    count += words(text_of(field(&body, gemini ? "systemInstruction" : "system")));
    const json::value *list = field(&body, gemini ? "contents" : "messages");
    if (list == nullptr || !list->is_array()) return {count, last_user};
    for (const auto &m : list->as_array()) {
        const std::string text = text_of(gemini ? &m : field(&m, "content"));
        count += words(text);
        const json::value *role = field(&m, "role");
        const bool user = role == nullptr ? gemini : role->is_string() && role->as_string() == "user";
        if (user) last_user = text;
    }
    return {count, last_user};
}

std::vector<std::string> pieces_of(const std::string &text, std::size_t piece_bytes) {
    std::vector<std::string> out;
    for (std::size_t start = 0; start < text.size();) {  // cut after a space, at least piece_bytes apart
        const std::size_t space = text.find(' ', std::min(text.size(), start + piece_bytes));
        const std::size_t end = space == std::string::npos ? text.size() : space + 1;
        out.push_back(text.substr(start, end - start));
        start = end;
    }
    if (out.empty()) out.emplace_back();
    return out;
}

std::string reason(int code) {
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

std::string http_date(std::time_t t) {
    char buf[64];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// Builds the steps of one response: a head, then the body as raw bytes
// (Content-Length) or as HTTP chunks of at most `split` bytes each.
class Plan {
public:
    explicit Plan(std::size_t split) : split_(split) {}
    std::vector<Step> steps;

    // `length`: the whole body's size; npos: a chunked stream.
    void head(int code, const std::string &content_type, const Headers &extra, std::size_t length = std::string::npos) {
        chunked_ = split_ > 0 || length == std::string::npos;
        std::string h =
            "HTTP/1.1 " + std::to_string(code) + " " + reason(code) + "\r\nContent-Type: " + content_type + "\r\n" +
            (chunked_ ? "Transfer-Encoding: chunked" : "Content-Length: " + std::to_string(length)) + "\r\n";
        for (const auto &[name, value] : extra) h += name + ": " + value + "\r\n";
        steps.push_back({Step::write, h + "\r\n", 0});
    }
    void data(const std::string &bytes) {
        const std::size_t n = split_ > 0 ? split_ : bytes.size();
        for (std::size_t i = 0; i < bytes.size(); i += n) {  // never an empty chunk: that would end the body
            const std::string part = bytes.substr(i, n);
            std::ostringstream size;
            size << std::hex << part.size();
            steps.push_back({Step::write, chunked_ ? size.str() + "\r\n" + part + "\r\n" : part, 0});
        }
    }
    void wait(long ms) { steps.push_back({Step::wait, "", ms}); }
    void reset() { steps.push_back({Step::reset, "", 0}); }
    std::vector<Step> end() {
        if (chunked_) steps.push_back({Step::write, "0\r\n\r\n", 0});
        return std::move(steps);
    }
    std::vector<Step> whole(int code, const std::string &content_type, const Headers &extra, const std::string &body) {
        head(code, content_type, extra, body.size());
        data(body);
        return end();
    }

private:
    std::size_t split_;
    bool chunked_ = true;
};

}  // namespace

std::string model_of(const ParsedRequest &r) {
    const Route route = route_of(r);
    if (route.provider == Provider::gemini) return route.gemini_model;
    json::error_code ec;
    const json::value v = json::parse(r.body, ec);
    const json::value *m = ec ? nullptr : field(&v, "model");
    return m != nullptr && m->is_string() ? std::string(m->as_string()) : "";
}

std::vector<Step> plain_error(int code, const std::string &message) {
    return Plan(0).whole(code, "application/json", {}, error_body(Provider::openai, code, message));
}

std::vector<Step> plan_response(const ParsedRequest &r, const std::string &model, std::size_t nth,
                                const std::string &api_key) {
    const Route route = route_of(r);
    if (!route.provider) return plain_error(404, "no such route: " + r.method + " " + r.target.substr(0, 200));
    const Provider provider = *route.provider;
    auto error = [&](int code, const std::string &message, const Headers &extra = {}, std::size_t split = 0,
                     const std::string &type = "application/json") {
        return Plan(split).whole(code, type, extra, error_body(provider, code, message));
    };
    Directives d;
    if (const std::string bad = parse_directives(model, d); !bad.empty()) return error(400, bad);
    json::error_code ec;
    const json::value body = json::parse(r.body, ec);
    if (ec || !body.is_object()) return error(400, "the request body is not a JSON object");

    if (d.has("auth")) {  // never echo the key received
        const std::string key = d.text("auth").empty() ? api_key : d.text("auth");
        auto header = [&](const char *name) {
            const auto it = r.headers.find(name);
            return it == r.headers.end() ? std::string() : it->second;
        };
        const bool bearer = header("authorization") == "Bearer " + key;
        bool ok = bearer;
        if (provider == Provider::anthropic)
            ok = bearer || (header("x-api-key") == key && !header("anthropic-version").empty());
        if (provider == Provider::gemini) ok = header("x-goog-api-key") == key;
        if (!ok || key.empty()) return error(401, "invalid or missing API key");
    }

    const bool in_first = !d.has("fail") || nth <= static_cast<std::size_t>(d.number("fail"));
    const bool every_kth = nth % static_cast<std::size_t>(d.number("fail_every", 1)) == 0;
    const bool faults = in_first && every_kth;
    auto fault = [&](const char *name) { return faults && d.has(name); };
    Headers extra;
    if (fault("retry_after")) extra.emplace_back("Retry-After", d.text("retry_after"));
    if (fault("retry_after_ms")) extra.emplace_back("retry-after-ms", d.text("retry_after_ms"));
    if (fault("retry_after_date")) extra.emplace_back("Retry-After", http_date(std::time(nullptr) + 2));
    if (fault("should_retry")) extra.emplace_back("x-should-retry", d.text("should_retry"));
    const std::size_t split = fault("split") ? static_cast<std::size_t>(d.number("split")) : 0;
    Plan plan(split);
    if (fault("stall_first")) plan.wait(d.number("stall_first"));
    if (fault("status")) {
        const int code = static_cast<int>(d.number("status"));
        std::vector<Step> steps = std::move(plan.steps);
        for (Step &s : error(code, "injected status " + std::to_string(code), extra, split,
                             d.text("content_type", "application/json")))
            steps.push_back(std::move(s));
        return steps;
    }

    if (route.embeddings)
        return plan.whole(200, "application/json", extra,
                          embeddings_body(provider, body, model, static_cast<std::size_t>(d.number("dims", 64))));

    Answer a;
    a.model = model;
    const auto [prompt_words, last_user] = read_messages(provider, body);
    const std::string reply = d.text("reply", "cache_a");
    a.text = reply == "echo" ? last_user : *canned_reply(reply);
    if (last_user.find("RANKING:") != std::string::npos) a.text = review_of(last_user, d.text("review", "longest"));
    if (fault("oversize")) {
        a.text.clear();
        const auto bytes = static_cast<std::size_t>(d.number("oversize"));
        while (a.text.size() < bytes) a.text += "lorem ";
        a.text.resize(bytes);
    }
    a.prompt_tokens = prompt_words;
    a.completion_tokens = words(a.text);
    a.pieces = pieces_of(a.text, fault("oversize") ? 16384 : a.text.size() / 4 + 1);
    const json::value *options = field(&body, "stream_options");
    const json::value *usage = field(options, "include_usage");
    a.include_usage = usage != nullptr && usage->is_bool() && usage->as_bool();
    const json::value *stream_field = field(&body, "stream");
    const bool stream = provider == Provider::gemini                         ? route.gemini_stream
                        : stream_field != nullptr && stream_field->is_bool() ? stream_field->as_bool()
                                                                             : provider == Provider::ollama;
    const long stall_mid = fault("stall_mid") ? d.number("stall_mid") : 0;
    const bool reset_mid = fault("reset_mid");

    if (!stream) {
        std::string out = whole_body(provider, a);
        if (fault("malformed")) out.resize(out.size() / 2);
        plan.head(200, fault("content_type") ? d.text("content_type") : "application/json", extra, out.size());
        if (stall_mid == 0 && !reset_mid) {
            plan.data(out);
            return plan.end();
        }
        plan.data(out.substr(0, out.size() / 2));
        if (stall_mid > 0) plan.wait(stall_mid);
        if (reset_mid) {
            plan.reset();
            return std::move(plan.steps);
        }
        plan.data(out.substr(out.size() / 2));
        return plan.end();
    }

    const std::string eol = fault("crlf") ? "\r\n" : fault("cr") ? "\r" : "\n";
    const StreamEvents s = stream_events(provider, a, eol, fault("multiline_data"), !fault("no_done"));
    plan.head(200, fault("content_type") ? d.text("content_type") : s.content_type, extra);
    for (const auto &e : s.before) plan.data(e);
    const std::size_t half = std::max<std::size_t>(1, s.pieces.size() / 2);
    for (std::size_t i = 0; i <= s.pieces.size(); ++i) {
        if (i == half) {
            if (stall_mid > 0) plan.wait(stall_mid);
            if (reset_mid) {
                plan.reset();
                return std::move(plan.steps);
            }
            if (fault("malformed")) plan.data(s.malformed);
            if (fault("error_event")) {
                plan.data(s.error);
                return plan.end();
            }
        }
        if (i == s.pieces.size()) break;
        if (fault("delay") && i > 0) plan.wait(d.number("delay"));
        plan.data(s.pieces[i]);
    }
    for (const auto &e : s.after) plan.data(e);
    if (!fault("no_done")) plan.data(s.done);
    return plan.end();
}

}  // namespace coe::test
