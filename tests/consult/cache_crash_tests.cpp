// The caches other processes share (embeddings, probe verdicts) under two
// writers at once, one of them SIGKILLed again and again mid-write: the file
// is never corrupt, no wrong vector or verdict is ever read back, and what
// the surviving writer stored is all there.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "embedding/embedding_cache.hpp"
#include "plugins/verdict_cache.hpp"

namespace fs = std::filesystem;
using coe::consult_detail::EmbeddingCache;
using coe::detail::ProbeVerdict;
using coe::detail::VerdictCache;

namespace {

fs::path fresh_folder(const std::string &name) {
    const fs::path dir = fs::temp_directory_path() / ("coe-cache-crash-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

// Runs `body` in a child process; returns its pid.  The child exits 0 when
// body returns true, 1 otherwise (a SIGKILL ends it earlier).
pid_t spawn(const std::function<bool()> &body) {
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) ::_exit(body() ? 0 : 1);
    return pid;
}

int wait_for(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

std::string text_of(const std::string &writer, int round, int i) {
    return writer + " round " + std::to_string(round) + " text " + std::to_string(i);
}

// The one right vector for a text: a fixed function of it.
std::vector<float> vector_of(const std::string &text) {
    std::vector<float> v(96);
    const std::size_t h = std::hash<std::string>{}(text);
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = static_cast<float>(std::sin(static_cast<double>(h % 9973 + j)));
    return v;
}

ProbeVerdict verdict_of(const std::string &key) {
    const std::size_t h = std::hash<std::string>{}(key);
    return {h % 2 == 0, "reason of " + key, "note of " + key};
}

constexpr int rounds = 12, per_round = 40;

// Two writers per round: "kept" stores per_round entries one by one and
// finishes; "killed" stores entries until it is SIGKILLed at a random moment
// after its first store (however slow the machine, it has written some).
// `store(writer, round, i)` is one store in the writer's process.
void two_writers_one_killed(const std::function<void(const std::string &, int, int)> &store) {
    std::mt19937 rng(7);
    for (int round = 0; round < rounds; ++round) {
        int first_stored[2];
        REQUIRE(::pipe(first_stored) == 0);
        const pid_t killed = spawn([&] {
            ::close(first_stored[0]);
            store("killed", round, 0);
            const char byte = 1;
            if (::write(first_stored[1], &byte, 1) != 1) return false;
            for (int i = 1;; ++i) store("killed", round, i);
            return true;
        });
        ::close(first_stored[1]);
        const pid_t kept = spawn([&] {
            for (int i = 0; i < per_round; ++i) store("kept", round, i);
            return true;
        });
        char byte = 0;
        REQUIRE(::read(first_stored[0], &byte, 1) == 1);
        ::close(first_stored[0]);
        std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 30)(rng)));
        ::kill(killed, SIGKILL);
        CHECK(WIFSIGNALED(wait_for(killed)));
        const int status = wait_for(kept);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    }
}

}  // namespace

TEST_CASE("embedding cache: two writers, one SIGKILLed mid-write: never a corrupt file, never a wrong vector") {
    const fs::path dir = fresh_folder("embeddings");
    ::setenv("COE_CACHE_DIR", dir.c_str(), 1);  // read by each child's cache (this process never uses its own)
    two_writers_one_killed([](const std::string &writer, int round, int i) {
        const std::string text = text_of(writer, round, i);
        EmbeddingCache::instance().store("model-x", {text}, {vector_of(text)});
    });
    const fs::path file = dir / "embeddings-2.bin";
    REQUIRE(fs::exists(file));
    CHECK(EmbeddingCache::check_file(file).empty());
    // The next store clears the temporary files killed writers left.
    CHECK(wait_for(spawn([] {
              EmbeddingCache::instance().store("model-x", {"one more"}, {vector_of("one more")});
              return true;
          })) == 0);
    for (const auto &entry : fs::directory_iterator(dir))
        CHECK_MESSAGE(entry.path().extension() != ".tmp", entry.path());
    // A fresh reader (a child: this process's cache singleton stays unused).
    const pid_t reader = spawn([] {
        auto fail = [](const std::string &why) {
            std::fprintf(stderr, "reader: %s\n", why.c_str());
            return false;
        };
        std::vector<float> got;
        std::size_t killed_found = 0;
        for (int round = 0; round < rounds; ++round) {
            for (int i = 0; i < per_round; ++i) {  // everything the finished writer stored
                const std::string text = text_of("kept", round, i);
                if (!EmbeddingCache::instance().find("model-x", text, got)) return fail("missing: " + text);
                if (got != vector_of(text)) return fail("wrong vector: " + text);
            }
            for (int i = 0; i < 100000; ++i) {  // the killed one's: right, or absent
                const std::string text = text_of("killed", round, i);
                if (!EmbeddingCache::instance().find("model-x", text, got)) break;
                if (got != vector_of(text)) return fail("wrong vector: " + text);
                ++killed_found;
            }
        }
        return killed_found > 0 || fail("none of the killed writers' vectors is there");
    });
    CHECK(wait_for(reader) == 0);

    // Damage is caught: one flipped byte in a vector, and that record and
    // those after it are not served.
    {
        std::string bytes = *coe::internal::read_cache_file(file);
        bytes[8 + 20 + 5] ^= 0x40;  // inside the first record's vector
        REQUIRE(coe::internal::replace_cache_file(file, bytes));
    }
    CHECK(EmbeddingCache::check_file(file).find("checksum does not match at byte 8") != std::string::npos);
    const pid_t damaged_reader = spawn([] {
        std::vector<float> got;
        for (int round = 0; round < rounds; ++round)
            for (int i = 0; i < per_round; ++i) {
                const std::string text = text_of("kept", round, i);
                if (EmbeddingCache::instance().find("model-x", text, got) && got != vector_of(text)) return false;
            }
        return true;
    });
    CHECK(wait_for(damaged_reader) == 0);
    fs::remove_all(dir);
}

TEST_CASE("probe verdict cache: two writers, one SIGKILLed mid-write: never a corrupt file, never a wrong verdict") {
    const fs::path dir = fresh_folder("verdicts");
    const fs::path file = dir / "plugin-probes-2.tsv";
    auto cache = [&] { return VerdictCache(file, [](const std::string &) { return true; }); };
    two_writers_one_killed([&](const std::string &writer, int round, int i) {
        static VerdictCache c = cache();  // one per writer process
        const std::string key = text_of(writer, round, i);
        c.store(key, verdict_of(key), true);
    });
    REQUIRE(fs::exists(file));
    CHECK(VerdictCache::check_file(file).empty());
    VerdictCache reader = cache();
    ProbeVerdict got;
    std::size_t killed_found = 0;
    auto same = [](const ProbeVerdict &a, const ProbeVerdict &b) {
        return a.admitted == b.admitted && a.reason == b.reason && a.note == b.note;
    };
    for (int round = 0; round < rounds; ++round) {
        for (int i = 0; i < per_round; ++i) {
            const std::string key = text_of("kept", round, i);
            REQUIRE_MESSAGE(reader.find(key, true, got), key);
            CHECK(same(got, verdict_of(key)));
        }
        for (int i = 0; i < 100000; ++i) {
            const std::string key = text_of("killed", round, i);
            if (!reader.find(key, true, got)) break;
            CHECK(same(got, verdict_of(key)));
            ++killed_found;
        }
    }
    CHECK(killed_found > 0);

    // A line whose checksum does not match is ignored, and named.
    {
        std::string text = *coe::internal::read_cache_file(file);
        const auto at = text.find("reason of kept round 0 text 0");
        REQUIRE(at != std::string::npos);
        text[at] = 'R';
        REQUIRE(coe::internal::replace_cache_file(file, text));
    }
    CHECK(VerdictCache::check_file(file).find("checksum does not match") != std::string::npos);
    VerdictCache after_damage = cache();
    CHECK_FALSE(after_damage.find(text_of("kept", 0, 0), true, got));
    CHECK(after_damage.find(text_of("kept", 0, 1), true, got));
    fs::remove_all(dir);
}
