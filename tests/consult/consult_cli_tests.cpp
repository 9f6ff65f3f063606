// `coe consult` as a user runs it, against the fake provider server in a
// process of its own.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include <boost/json.hpp>

#include "test_support.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;

using coe::test::lines_of;

namespace {

// The fake provider server, in its own process, until destroyed.
class ServerProcess {
public:
    ServerProcess() {
        static int started = 0;
        const fs::path port_file = scratch() / ("port-" + std::to_string(++started));
        fs::remove(port_file);
        int fds[2];
        REQUIRE(::pipe(fds) == 0);
        pid_ = ::fork();
        REQUIRE(pid_ >= 0);
        if (pid_ == 0) {
            ::dup2(fds[0], 0);
            ::close(fds[1]);
            const int devnull = ::open("/dev/null", O_WRONLY);
            ::dup2(devnull, 1);
            ::execl(COE_TEST_FAKE_PROVIDER_SERVER, COE_TEST_FAKE_PROVIDER_SERVER, "--port-file", port_file.c_str(),
                    static_cast<char *>(nullptr));
            ::_exit(127);
        }
        ::close(fds[0]);
        stdin_ = fds[1];
        for (int i = 0; i < 500 && port_ == 0; ++i) {
            std::ifstream in(port_file);
            in >> port_;
            if (port_ == 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        REQUIRE(port_ != 0);
    }
    ~ServerProcess() {
        ::close(stdin_);  // the server exits at end of input
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

    static fs::path scratch() {
        static const fs::path dir = [] {
            fs::path d = fs::temp_directory_path() / ("coe-consult-cli-" + std::to_string(::getpid()));
            fs::create_directories(d);
            return d;
        }();
        return dir;
    }

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
};

struct Run {
    int status;
    std::string out;
};

Run run(const std::string &args, const std::string &env = "") {
    const auto r = coe::test::run_command("env -u COE_BACKEND -u COE_PLUGIN_PATH -u COE_CONFIG " + env + " " +
                                          coe::test::coe_tool().string() + " " + args + " 2>&1");
    return {r.status, r.out};
}

std::string write_file(const std::string &name, const std::string &text) {
    const fs::path p = ServerProcess::scratch() / name;
    std::ofstream(p) << text;
    return p.string();
}

std::string experts_file(const ServerProcess &s, const std::string &name,
                         const std::vector<std::pair<std::string, std::string>> &models,
                         const std::string &extra = "") {
    std::string text = "{\"experts\": [";
    const char *providers[] = {"openai", "ollama", "anthropic", "gemini"};
    for (std::size_t i = 0; i < models.size(); ++i) {
        const std::string provider = providers[i % 4];
        text += std::string(i ? "," : "") + "{\"name\": \"" + models[i].first + "\", \"provider\": \"" + provider +
                "\", \"base_url\": \"" + s.url() + (provider == "openai" ? "/v1" : "") + "\", \"model\": \"" +
                models[i].second + "\", \"max_retries\": 1, \"backoff_initial_ms\": 10, \"backoff_max_ms\": 20" +
                extra + "}";
    }
    return write_file(name, text + "]}");
}

json::object without(json::object o, std::initializer_list<const char *> keys) {
    for (const char *k : keys) o.erase(k);
    return o;
}

}  // namespace

TEST_CASE("without experts, coe consult explains how to configure one and fails") {
    Run r = run("consult \"What now?\"");
    CHECK(r.status == 2);
    CHECK(r.out.find("no experts are configured") != std::string::npos);
    CHECK(r.out.find("--experts FILE") != std::string::npos);
    CHECK(r.out.find("api_key_env") != std::string::npos);
}

TEST_CASE("coe consult prints the answers and the consensus; --json and --save-panel agree with coe analyze") {
    ServerProcess server;
    const std::string experts = experts_file(
        server, "three.json", {{"ada", "reply=cache_a"}, {"bob", "reply=cache_b"}, {"cy", "reply=rewrite"}});
    Run text = run("consult \"How do we speed up the API?\" --experts " + experts);
    CHECK(text.status == 0);
    for (const char *s : {"== ada", "== bob", "== cy", "Consensus:", "3 of 3 experts answered"})
        CHECK_MESSAGE(text.out.find(s) != std::string::npos, s);

    const std::string panel = (ServerProcess::scratch() / "saved-panel.json").string();
    Run js =
        run("consult \"How do we speed up the API?\" --json --id q1 --experts " + experts + " --save-panel " + panel);
    REQUIRE(js.status == 0);
    const json::object consult = json::parse(lines_of(js.out).at(0)).as_object();
    CHECK(consult.at("id") == "q1");
    CHECK(consult.at("answers").as_array().size() == 3);
    CHECK(consult.at("consultation").at("answered") == 3);
    CHECK(consult.at("consultation").at("quorum_met") == true);
    for (const auto &a : consult.at("answers").as_array()) {
        CHECK(a.at("status") == "ok");
        CHECK(a.at("tokens_out").as_int64() > 0);
    }
    Run analyzed = run("analyze " + panel + " --json");
    REQUIRE(analyzed.status == 0);
    const json::object report = json::parse(lines_of(analyzed.out).at(0)).as_object();
    CHECK(without(consult, {"answers", "consultation", "final_answer", "final_answer_from", "timing_ms"}) ==
          without(report, {"timing_ms"}));
}

TEST_CASE("coe consult --stream prints events as JSON Lines, final last; a missed quorum exits 3") {
    ServerProcess server;
    const std::string experts = experts_file(
        server, "stream.json", {{"ok1", "reply=cache_a"}, {"ok2", "reply=cache_c"}, {"denied", "status=401"}});
    Run r = run("consult \"Q?\" --stream --deltas --quorum 3 --experts " + experts);
    CHECK(r.status == 3);
    std::vector<std::string> types;
    for (const std::string &l : lines_of(r.out)) {
        if (l.rfind("coe consult:", 0) == 0) continue;  // stderr, merged here
        types.emplace_back(json::parse(l).at("type").as_string());
    }
    REQUIRE(!types.empty());
    CHECK(types.front() == "expert_started");
    CHECK(types.back() == "final");
    CHECK(std::count(types.begin(), types.end(), "consensus") == 2);
    CHECK(std::count(types.begin(), types.end(), "expert_failed") == 1);
    CHECK(std::count(types.begin(), types.end(), "expert_delta") >= 2);
    CHECK(r.out.find("denied: auth_error: HTTP 401") != std::string::npos);
    CHECK(r.out.find("the quorum of 3 was not met") != std::string::npos);
}

TEST_CASE("default quorum is a majority: 5 experts, one down, exit 0; each failed expert named with why on one line") {
    ServerProcess server;
    const std::string experts = experts_file(server, "majority.json",
                                             {{"a", "reply=cache_a"},
                                              {"b", "reply=cache_b"},
                                              {"c", "reply=cache_c"},
                                              {"d", "reply=index"},
                                              {"down", "status=401"}});
    Run r = run("consult \"Q?\" --experts " + experts);
    CHECK(r.status == 0);
    CHECK(r.out.find("4 of 5 experts answered (quorum 3 met)") != std::string::npos);
    CHECK(r.out.find("\n  down failed: auth_error: HTTP 401") != std::string::npos);
    const std::vector<std::string> lines = lines_of(r.out);
    CHECK(std::count_if(lines.begin(), lines.end(),
                        [](const std::string &l) { return l.find(" failed: ") != std::string::npos; }) == 1);

    const std::string two_down = experts_file(server, "minority.json",
                                              {{"a", "reply=cache_a"},
                                               {"b", "reply=cache_b"},
                                               {"x", "status=401"},
                                               {"y", "status=401"},
                                               {"z", "status=401"}});
    Run m = run("consult \"Q?\" --experts " + two_down);
    CHECK(m.status == 3);
    CHECK(m.out.find("2 of 5 experts answered (quorum 3 NOT met)") != std::string::npos);
    for (const char *name : {"x", "y", "z"})
        CHECK(m.out.find("\n  " + std::string(name) + " failed: auth_error: ") != std::string::npos);
}

TEST_CASE("experts in the config file, and a performance report per expert") {
    ServerProcess server;
    const std::string experts = experts_file(server, "cfg.json", {{"one", "reply=index"}, {"two", "reply=index"}});
    Run r = run("consult \"Q?\" --json --config " + experts + " --report -");
    CHECK(r.status == 0);
    CHECK(r.out.find("\"experts\":{\"one\":{\"requests\":1") != std::string::npos);
    Run p = run("consult \"Q?\" --config " + experts + " --report - --prometheus");
    CHECK(p.out.find("coe_expert_requests_total{expert=\"two\"} 1") != std::string::npos);
}

TEST_CASE("coe consult --batch: input order, bad lines as error records, the others answered") {
    ServerProcess server;
    const std::string experts = experts_file(server, "batch.json", {{"a", "reply=cache_a"}, {"b", "reply=cache_b"}});
    const std::string questions = write_file("questions.jsonl",
                                             "{\"id\": \"q1\", \"question\": \"first?\"}\n"
                                             "{\"id\": 2, \"title\": \"second\", \"content\": \"details\"}\n"
                                             "not json\n"
                                             "{\"id\": \"q4\", \"question\": \"fourth?\", \"experts\": [\"b\"]}\n"
                                             "{\"id\": \"q5\", \"question\": \"fifth?\", \"experts\": [\"zed\"]}\n"
                                             "{\"id\": \"q6\", \"question\": \"\"}\n");
    Run r = run("consult --batch " + questions + " --concurrency 2 --experts " + experts);
    CHECK(r.status == 3);
    std::vector<json::value> out;
    for (const std::string &l : lines_of(r.out))
        if (l.rfind("coe consult:", 0) != 0) out.push_back(json::parse(l));
    REQUIRE(out.size() == 6);
    CHECK(out[0].at("id") == "q1");
    CHECK(out[1].at("id") == "2");
    CHECK(out[1].at("question") == "second\n\ndetails");
    CHECK(out[2].at("line") == 3);
    CHECK(out[2].at("error").as_string().find("invalid JSON") != std::string::npos);
    CHECK(out[3].at("answers").as_array().size() == 1);
    CHECK(out[4].at("error").as_string().find("no expert named 'zed'") != std::string::npos);
    CHECK(out[5].at("error").as_string().find("question: missing or empty") != std::string::npos);
}

TEST_CASE("coe consult --batch --resume after a SIGKILL loses and repeats nothing") {
    ServerProcess server;
    // Each answer of the killed run takes 2 s, so the kill lands between two lines even on a loaded machine;
    // the resumed run, the same expert without the stall, is quick.
    const std::string slow = experts_file(server, "resume-slow.json", {{"slow", "reply=short,stall_first=2000"}});
    const std::string experts = experts_file(server, "resume.json", {{"slow", "reply=short"}});
    std::string q;
    for (int i = 1; i <= 8; ++i)
        q += "{\"id\": \"r" + std::to_string(i) + "\", \"question\": \"q" + std::to_string(i) + "?\"}\n";
    const std::string questions = write_file("resume.jsonl", q);
    const std::string output = (ServerProcess::scratch() / "resume-out.jsonl").string();
    fs::remove(output);  // lines of an earlier run would count as written before the kill

    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int devnull = ::open("/dev/null", O_WRONLY);
        ::dup2(devnull, 1);
        ::dup2(devnull, 2);
        ::execl(coe::test::coe_tool().c_str(), "coe", "consult", "--batch", questions.c_str(), "--output",
                output.c_str(), "--concurrency", "1", "--experts", slow.c_str(), static_cast<char *>(nullptr));
        ::_exit(127);
    }
    std::size_t before = 0;
    for (int i = 0; i < 3000 && before < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        std::ifstream in(output);
        before = 0;
        for (std::string l; std::getline(in, l);) before += !l.empty();
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    REQUIRE(before >= 2);
    REQUIRE(before < 8);

    Run r = run("consult --batch " + questions + " --resume " + output + " --concurrency 2 --experts " + experts);
    CHECK(r.status == 0);
    CHECK(r.out.find("questions already answered") != std::string::npos);
    std::ifstream in(output);
    std::vector<std::string> ids;
    for (std::string l; std::getline(in, l);)
        if (!l.empty()) ids.emplace_back(json::parse(l).at("id").as_string());
    CHECK(ids == std::vector<std::string>{"r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"});
}

TEST_CASE("API keys never appear in any output, report or error of coe consult") {
    const std::string key = "sk-cli-secret-42424242";
    ::setenv("COE_FAKE_PROVIDER_KEY", key.c_str(), 1);  // what the server requires
    ServerProcess server;
    ::unsetenv("COE_FAKE_PROVIDER_KEY");
    const std::string experts =
        experts_file(server, "keys.json", {{"right", "auth"}, {"wrong", "auth"}}, ", \"api_key_env\": \"COE_CLI_KEY\"");
    // the second expert reads a different variable holding a wrong key
    std::string text;
    {
        std::ifstream in(experts);
        std::stringstream b;
        b << in.rdbuf();
        text = b.str();
    }
    const auto second = text.rfind("COE_CLI_KEY");
    text.replace(second, std::string("COE_CLI_KEY").size(), "COE_CLI_WRONG");
    std::ofstream(experts) << text;
    const std::string env = "COE_CLI_KEY=" + key + " COE_CLI_WRONG=sk-cli-wrong-13131313";
    std::string all;
    for (const std::string args : {"--json", "--stream --deltas", "", "--report -", "--report - --prometheus"}) {
        Run r = run("consult \"Q?\" " + args + " --experts " + experts, env);
        CHECK(r.status == 3);
        all += r.out;
    }
    CHECK(all.find("right") != std::string::npos);
    CHECK(all.find("auth_error") != std::string::npos);
    CHECK(all.find(key) == std::string::npos);
    CHECK(all.find("sk-cli-wrong-13131313") == std::string::npos);
}
