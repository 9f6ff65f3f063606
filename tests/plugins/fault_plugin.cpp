// A backend plugin whose faults are chosen at run time, for chaos tests.
// It runs the scalar reference kernels (the newest revision of each
// operation, as the built-in backends do), then misbehaves as the environment
// variable COE_TEST_FAULT says at the time of each call:
//   "<kind>:<rate>[:<ms>]"  kind one of error, nan, subtle, slow, unwritten; rate the
//   probability per call; unset, empty or "none": behaves.
// Change the variable only while no call is running.
// Builds with FP_CRASH_ON_CALL=N or FP_HANG_ON_CALL=N (and FP_ID, FP_NAME)
// also die with SIGSEGV, or never return, on the N-th operation call their
// process makes (counted over all operations): plugins only a worker process
// may run (coe/plugin_isolation.hpp).
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>

#include "aggregate_kernel.hpp"
#include "cluster_kernel.hpp"
#include "coe/coe_plugin.h"
#include "coe/plugin_helper.hpp"
#include "consensus_kernel.hpp"
#include "embed_words_kernel.hpp"
#include "featurize_kernel.hpp"
#include "resilience/fault_effects.hpp"
#include "similarity_kernel.hpp"

namespace {

struct Fault {
    coe::fault::Kind kind = coe::fault::Kind::none;
    double rate = 0, delay_ms = 50;
};

Fault current_fault() {
    Fault f;
    const char *env = std::getenv("COE_TEST_FAULT");
    if (env == nullptr || *env == '\0') return f;
    const std::string spec(env);
    const std::size_t a = spec.find(':');
    const std::string kind = spec.substr(0, a);
    f.kind = coe::fault::kind_from_name(kind.c_str());
    f.rate = a == std::string::npos ? 1.0 : std::atof(spec.c_str() + a + 1);
    const std::size_t b = a == std::string::npos ? a : spec.find(':', a + 1);
    if (b != std::string::npos) f.delay_ms = std::atof(spec.c_str() + b + 1);
    return f;
}

std::atomic<std::uint64_t> call_counter{0};

// splitmix64 over a call counter: a well-mixed, reproducible sequence
bool strikes(double rate) {
    std::uint64_t x = (call_counter.fetch_add(1) + 1) * 0x9E3779B97F4A7C15ull;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return static_cast<double>(x >> 11) * 0x1.0p-53 < rate;
}

#ifndef FP_ID
#define FP_ID "test.faulty"
#define FP_NAME "faulty"
#endif

std::atomic<std::uint64_t> operation_calls{0};

// The N-th call of this process, N = FP_CRASH_ON_CALL or FP_HANG_ON_CALL.
void misbehave_on_schedule() {
    [[maybe_unused]] const std::uint64_t n = operation_calls.fetch_add(1) + 1;
#ifdef FP_CRASH_ON_CALL
    if (n == FP_CRASH_ON_CALL) ::raise(SIGSEGV);
#endif
#ifdef FP_HANG_ON_CALL
    if (n == FP_HANG_ON_CALL)
        for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
#endif
}

template <class Body>
coe_status faulty(const char *op, void *args, const coe_call *call, Body &&body) {
    misbehave_on_schedule();
    const Fault f = current_fault();
    const bool hit = f.kind != coe::fault::Kind::none && strikes(f.rate);
    if (hit && f.kind == coe::fault::Kind::error) {
        coe::sdk::write_error(call, "injected error");
        return COE_ERR_INTERNAL;
    }
    if (hit && f.kind == coe::fault::Kind::slow)
        std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(f.delay_ms));
    if (hit && f.kind == coe::fault::Kind::unwritten) {
        const coe::fault::Untouched untouched(op, args);
        const coe_status s = coe::sdk::guarded(call, body);
        untouched.put_back();
        return s;
    }
    const coe_status s = coe::sdk::guarded(call, body);
    if (s == COE_OK && hit && f.kind == coe::fault::Kind::nan) coe::fault::poison(op, args);
    if (s == COE_OK && hit && f.kind == coe::fault::Kind::subtle) coe::fault::nudge(op, args);
    return s;
}

using coe::sdk::args_as;
namespace k = coe::kernels;

coe_status op_featurize(void *args, const coe_call *call) {
    return faulty(COE_OP_FEATURIZE, args, call, [&] { return k::featurize<2>(args_as<coe_featurize_args>(args)); });
}
coe_status op_similarity(void *args, const coe_call *call) {
    return faulty(COE_OP_SIMILARITY, args, call,
                  [&] { return k::similarity<k::scalar_arch, 2>(args_as<coe_similarity_args>(args)); });
}
coe_status op_cluster(void *args, const coe_call *call) {
    return faulty(COE_OP_CLUSTER, args, call, [&] { return k::cluster(args_as<coe_cluster_args>(args)); });
}
coe_status op_consensus(void *args, const coe_call *call) {
    return faulty(COE_OP_CONSENSUS, args, call, [&] { return k::consensus<2>(args_as<coe_consensus_args>(args)); });
}
coe_status op_aggregate(void *args, const coe_call *call) {
    return faulty(COE_OP_AGGREGATE, args, call, [&] { return k::aggregate(args_as<coe_aggregate_args>(args)); });
}
coe_status op_embed_words(void *args, const coe_call *call) {
    return faulty(COE_OP_EMBED_WORDS, args, call,
                  [&] { return k::embed_words<k::scalar_arch>(args_as<coe_embed_words_args>(args)); });
}

constexpr coe_operation ops[] = {
    {sizeof(coe_operation), 2, COE_OP_FEATURIZE, &op_featurize, 0, 0},
    {sizeof(coe_operation), 2, COE_OP_SIMILARITY, &op_similarity, 0, 0},
    {sizeof(coe_operation), 1, COE_OP_CLUSTER, &op_cluster, 0, 0},
    {sizeof(coe_operation), 2, COE_OP_CONSENSUS, &op_consensus, 0, 0},
    {sizeof(coe_operation), 1, COE_OP_AGGREGATE, &op_aggregate, 0, 0},
    {sizeof(coe_operation), 1, COE_OP_EMBED_WORDS, &op_embed_words, 0, 0},
};
constexpr const coe_operation *op_table[] = {&ops[0], &ops[1], &ops[2], &ops[3], &ops[4], &ops[5]};

constexpr coe_plugin_descriptor descriptor = {sizeof(coe_plugin_descriptor),
                                              COE_ABI_MAJOR,
                                              COE_ABI_MINOR,
                                              FP_ID,
                                              FP_NAME,
                                              "1.0.0",
                                              "scalar kernels with run-time faults (COE_TEST_FAULT)",
                                              0,
                                              COE_THREAD_SAFETY_REENTRANT,
                                              sizeof op_table / sizeof op_table[0],
                                              op_table,
                                              nullptr};

}  // namespace

extern "C" {
COE_PLUGIN_MANIFEST(FP_ID, FP_NAME, "1.0.0", 0);
COE_PLUGIN_EXPORT const coe_plugin_descriptor *coe_plugin_entry(uint16_t, uint16_t) { return &descriptor; }
}
