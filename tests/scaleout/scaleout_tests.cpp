// Scale-out on a real NATS JetStream server (`nats-server -js`, started here
// on 127.0.0.1 with a temporary store) and real `coe worker` processes.
// Skips (exit 77) with the reason when nats-server is not installed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <fcntl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "fake_provider_server.hpp"
#include "test_support.hpp"

using coe::test::lines_of;
using coe::test::read_text;

extern char **environ;

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

std::string nats_server_path() {
    for (const char *p : {"/usr/bin/nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server"})
        if (::access(p, X_OK) == 0) return p;
    return {};
}

fs::path temp_dir(const std::string &name) {
    const fs::path d = fs::temp_directory_path() / ("coe-scaleout-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(d);
    fs::create_directories(d);
    return d;
}

// A child process with its output in a log file; killed (SIGKILL) at the end if still running.
class Process {
public:
    // `env`: "NAME=value" entries added to this process's environment.
    Process(std::vector<std::string> argv, fs::path log, std::vector<std::string> env = {}) : log_(std::move(log)) {
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        std::vector<char *> args;
        for (auto &a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        std::vector<char *> envp;
        for (char **e = environ; *e != nullptr; ++e) envp.push_back(*e);
        for (auto &e : env) envp.push_back(e.data());
        envp.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), envp.data());
        posix_spawn_file_actions_destroy(&fa);
        REQUIRE_MESSAGE(rc == 0, "cannot start " << argv[0]);
    }
    Process(const Process &) = delete;
    Process &operator=(const Process &) = delete;
    ~Process() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    void signal(int sig) { ::kill(pid_, sig); }
    // The exit status, or -1 if still running after `timeout`.
    int wait(std::chrono::milliseconds timeout) {
        const auto end = std::chrono::steady_clock::now() + timeout;
        int status = 0;
        while (std::chrono::steady_clock::now() < end) {
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(20ms);
        }
        return -1;
    }
    std::string log() const { return read_text(log_); }
    // Waits until the log contains `text`; its line, or "" on timeout.
    std::string wait_for(const std::string &text, std::chrono::milliseconds timeout = 20s) const {
        const auto end = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < end) {
            std::istringstream lines(log());
            for (std::string l; std::getline(lines, l);)
                if (l.find(text) != std::string::npos) return l;
            std::this_thread::sleep_for(20ms);
        }
        return {};
    }

private:
    fs::path log_;
    pid_t pid_ = -1;
};

struct NatsServer {
    fs::path dir = temp_dir("nats");
    Process process{{nats_server_path(), "-js", "-a", "127.0.0.1", "-p", "-1", "-sd", (dir / "store").string()},
                    dir / "nats.log"};
    std::string url;
    NatsServer() {
        const std::string line = process.wait_for("Listening for client connections on");
        REQUIRE_MESSAGE(!line.empty(), "nats-server did not start:\n" << process.log());
        url = "nats://127.0.0.1:" + line.substr(line.rfind(':') + 1);
    }
    ~NatsServer() {
        process.signal(SIGTERM);
        process.wait(5s);
        fs::remove_all(dir);
    }
};

struct Run {
    int status;
    std::string out;
};

Run run_coe(const std::string &args) {
    const auto r = coe::test::run_command(std::string(COE_TEST_COE_TOOL) + " " + args + " 2>/dev/null");
    return {r.status, r.out};
}

// A report line without what differs between runs and processes.
std::string essence(const std::string &line) {
    json::value v = json::parse(line);
    if (auto *o = v.if_object())
        for (const char *k : {"timing_ms", "backend", "served_by", "degraded", "events"}) o->erase(k);
    return json::serialize(v);
}

std::unique_ptr<Process> worker(const NatsServer &nats, const fs::path &log, const std::vector<std::string> &extra = {},
                                std::vector<std::string> env = {}) {
    std::vector<std::string> argv = {COE_TEST_COE_TOOL, "worker", "--nats", nats.url};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<Process>(argv, log, std::move(env));
}

// Worker options that run every operation on the test plugin whose faults
// COE_TEST_FAULT chooses (here: a delay per call), so that jobs take time.
std::vector<std::string> slow_plugin(std::vector<std::string> more) {
    std::vector<std::string> o = {"--plugin-path", std::string(COE_TEST_PLUGIN_DIR) + "/tp_faulty/tp_faulty.so",
                                  "--backend", "faulty"};
    o.insert(o.end(), more.begin(), more.end());
    return o;
}

std::size_t results_in(const NatsServer &nats, const std::string &batch) {
    const Run r = run_coe("collect --nats " + nats.url + " --batch " + batch + " --status");
    const auto at = r.out.find(": ");
    return at == std::string::npos ? 0 : std::strtoull(r.out.c_str() + at + 2, nullptr, 10);
}

}  // namespace

TEST_CASE("three workers, one killed with SIGKILL mid-batch: 300 results, each exactly once, equal to coe analyze") {
    NatsServer nats;
    const fs::path dir = temp_dir("batch");
    // 300 panels (the MT-Bench panels, repeated) with one bad line among them
    const auto corpus = lines_of(read_text(fs::path(COE_TEST_SHARED_DATA_DIR) / "mtbench-panels.jsonl"));
    REQUIRE(corpus.size() >= 80);
    std::ofstream(dir / "panels.jsonl") << "";
    {
        std::ofstream out(dir / "panels.jsonl");
        for (int i = 0; i < 300; ++i)
            out << (i == 150 ? std::string("{\"responses\": 3}") : corpus[i % corpus.size()]) << "\n";
    }
    const Run expected = run_coe("analyze " + (dir / "panels.jsonl").string() + " --json");
    REQUIRE(lines_of(expected.out).size() == 300);

    // each operation takes 4 ms more: the batch lasts seconds, and a worker dies with a job in hand (the
    // plugin's slowness is not judged: shadow-checked on probation, it would be demoted to scalar at once)
    std::ofstream(dir / "slow-is-fine.json") << R"({"resilience": {"breaker": {"slower_than_reference_calls": 0}}})";
    std::vector<std::unique_ptr<Process>> workers;
    for (int i = 0; i < 3; ++i)
        workers.push_back(worker(nats, dir / ("w" + std::to_string(i) + ".log"),
                                 slow_plugin({"--ack-wait", "2s", "--config", (dir / "slow-is-fine.json").string()}),
                                 {"COE_TEST_FAULT=slow:1:4"}));
    for (auto &w : workers) REQUIRE_MESSAGE(!w->wait_for("pulling jobs").empty(), w->log());

    const Run submitted = run_coe("submit --nats " + nats.url + " " + (dir / "panels.jsonl").string());
    REQUIRE(submitted.status == 0);
    const std::string batch = lines_of(submitted.out).at(0);

    const auto start = std::chrono::steady_clock::now();
    std::size_t before_kill = 0;
    while ((before_kill = results_in(nats, batch)) < 20 && std::chrono::steady_clock::now() - start < 60s)
        std::this_thread::sleep_for(50ms);
    workers[0]->signal(SIGKILL);  // with a job in hand: it is never acknowledged
    CHECK(workers[0]->wait(5s) == 128 + SIGKILL);
    MESSAGE("killed a worker after " << before_kill << " of 300 results");
    CHECK(before_kill < 300);

    const Run collected = run_coe("collect --nats " + nats.url + " --batch " + batch + " --timeout 120s");
    CHECK(collected.status == 3);  // the bad line is an error result
    const auto got = lines_of(collected.out), want = lines_of(expected.out);
    REQUIRE(got.size() == 300);
    for (std::size_t i = 0; i < 300; ++i) {
        INFO("line " << i + 1);
        if (i == 150) CHECK(json::parse(got[i]).at("line").as_int64() == 151);
        else CHECK(essence(got[i]) == essence(want[i]));
    }
    const Run status = run_coe("collect --nats " + nats.url + " --batch " + batch + " --status");
    CHECK(status.out.find("300 of 300 results, 0 duplicates") != std::string::npos);

    for (std::size_t i = 1; i < workers.size(); ++i) {  // SIGTERM: finish the job in hand, exit 0
        workers[i]->signal(SIGTERM);
        CHECK(workers[i]->wait(10s) == 0);
    }
    fs::remove_all(dir);
}

TEST_CASE("a job whose worker dies on every delivery ends as an error result, not a hole") {
    NatsServer nats;
    const fs::path dir = temp_dir("poison");
    std::ofstream(dir / "one.jsonl")
        << lines_of(read_text(fs::path(COE_TEST_SHARED_DATA_DIR) / "mtbench-panels.jsonl")).at(0) << "\n";
    {  // a worker that takes the job, and is killed with it in hand; max_deliver 1
        // each operation takes 3 s; probing is off, or the probe's smoke calls would take as long
        std::ofstream(dir / "no-probe.json") << R"({"plugin_probe": {"mode": "off"}})";
        auto w = worker(
            nats, dir / "w1.log",
            slow_plugin({"--config", (dir / "no-probe.json").string(), "--ack-wait", "1s", "--max-deliver", "1"}),
            {"COE_TEST_FAULT=slow:1:3000"});
        REQUIRE(!w->wait_for("pulling jobs").empty());
        const Run submitted =
            run_coe("submit --nats " + nats.url + " " + (dir / "one.jsonl").string() + " --batch poison1");
        REQUIRE(submitted.status == 0);
        std::this_thread::sleep_for(1500ms);
        w->signal(SIGKILL);
        w->wait(5s);
    }
    auto other = worker(nats, dir / "w2.log", {"--ack-wait", "1s", "--max-deliver", "1"});
    const Run collected = run_coe("collect --nats " + nats.url + " --batch poison1 --timeout 30s");
    REQUIRE(lines_of(collected.out).size() == 1);
    INFO(collected.out.substr(0, 300));
    const json::object result = json::parse(lines_of(collected.out)[0]).as_object();
    CHECK(result.at("line").as_int64() == 1);
    CHECK(std::string(result.at("error").as_string()).find("delivered 1 times and never finished") !=
          std::string::npos);
    fs::remove_all(dir);
}

TEST_CASE("a consultation refused with 429 is handed back with a delay, then answered") {
    NatsServer nats;
    const fs::path dir = temp_dir("consult");
    coe::test::FakeProviderServer provider;
    std::ofstream(dir / "experts.json") << R"({"experts": [{"name": "one", "provider": "openai", "base_url": ")"
                                        << provider.base_url()
                                        << R"(/v1", "model": "reply=cache_a,status=429,fail=1", "max_retries": 0}]})";
    std::ofstream(dir / "questions.jsonl") << R"({"id": "q1", "question": "How do we make the API faster?"})"
                                           << "\n";
    auto w = worker(nats, dir / "w.log", {"--experts", (dir / "experts.json").string(), "--retry-later", "500ms"});
    REQUIRE(!w->wait_for("consult").empty());
    const Run collected = run_coe("submit --nats " + nats.url + " " + (dir / "questions.jsonl").string() +
                                  " --consult --wait --timeout 30s");
    CHECK(collected.status == 0);
    const json::object result = json::parse(lines_of(collected.out).at(0)).as_object();
    CHECK(result.at("id").as_string() == "q1");
    CHECK(result.at("consultation").at("answered").as_int64() == 1);
    CHECK(provider.request_count("reply=cache_a,status=429,fail=1") == 2);  // refused, handed back, answered
    fs::remove_all(dir);
}

TEST_CASE("a job lasting 3x --ack-wait runs once: its worker keeps it with in-progress acks") {
    NatsServer nats;
    const fs::path dir = temp_dir("long-job");
    coe::test::FakeProviderServer provider;
    const std::string model = "reply=cache_a,stall_first=3000";  // the job takes 3 s; ack_wait is 1 s
    std::ofstream(dir / "experts.json") << R"({"experts": [{"name": "one", "provider": "openai", "base_url": ")"
                                        << provider.base_url() << R"(/v1", "model": ")" << model
                                        << R"(", "max_retries": 0}]})";
    std::ofstream(dir / "questions.jsonl") << R"({"id": "long", "question": "How do we make the API faster?"})"
                                           << "\n";
    std::vector<std::unique_ptr<Process>> workers;  // a second worker that would take a redelivered job
    for (int i = 0; i < 2; ++i)
        workers.push_back(
            worker(nats, dir / ("w" + std::to_string(i) + ".log"),
                   {"--experts", (dir / "experts.json").string(), "--ack-wait", "1s", "--deadline", "20s"}));
    for (auto &w : workers) REQUIRE_MESSAGE(!w->wait_for("consult").empty(), w->log());
    const auto start = std::chrono::steady_clock::now();
    const Run collected = run_coe("submit --nats " + nats.url + " " + (dir / "questions.jsonl").string() +
                                  " --consult --batch long1 --wait --timeout 30s");
    CHECK(std::chrono::steady_clock::now() - start >= 3s);
    CHECK(collected.status == 0);
    CHECK(json::parse(lines_of(collected.out).at(0)).at("consultation").at("answered").as_int64() == 1);
    std::this_thread::sleep_for(1500ms);  // past another ack_wait: a redelivery would have asked again by now
    CHECK(provider.request_count(model) == 1);
    const Run status = run_coe("collect --nats " + nats.url + " --batch long1 --status");
    CHECK(status.out.find("1 of 1 results, 0 duplicates") != std::string::npos);
    fs::remove_all(dir);
}

int main(int argc, char **argv) {
    if (nats_server_path().empty()) {
        std::cout << "SKIPPED: nats-server is not installed (Debian package nats-server; scripts/install-deps.sh "
                     "installs it)\n";
        return 77;
    }
    doctest::Context context(argc, argv);
    return context.run();
}
