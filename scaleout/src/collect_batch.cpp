// collect_batch: the manifest says how many; the results subject holds them.
#include <boost/json.hpp>

#include <chrono>

#include "coe/error.hpp"
#include "nats_session.hpp"

namespace coe {

using namespace scaleout_detail;

namespace {

std::size_t expected_count(const NatsSession &session, const std::string &batch) {
    natsMsg *m = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetLastMsg(&m, session.js(), session.queue().results_stream.c_str(),
                                       manifest_subject(batch).c_str(), nullptr, &jerr);
    if (s == NATS_NOT_FOUND)
        throw Error("batch " + batch + ": unknown on " + session.queue().url + " (never submitted, or expired)");
    nats_check(s, "batch " + batch + ": manifest", jerr);
    MsgPtr owned(m);
    boost::json::error_code ec;
    const auto doc = boost::json::parse(
        std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))), ec);
    const auto *count = !ec && doc.is_object() ? doc.as_object().if_contains("count") : nullptr;
    if (count == nullptr || !count->is_number()) throw Error("batch " + batch + ": malformed manifest");
    return count->to_number<std::size_t>();
}

}  // namespace

BatchResults collect_batch(const WorkQueueOptions &queue, const std::string &batch, std::chrono::milliseconds timeout) {
    NatsSession session(queue);
    BatchResults out;
    out.expected = expected_count(session, batch);

    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = queue.results_stream.c_str();
    so.Config.AckPolicy = js_AckNone;
    so.Config.DeliverPolicy = js_DeliverAll;
    natsSubscription *sub = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    nats_check(js_SubscribeSync(&sub, session.js(), results_subject(batch).c_str(), nullptr, &so, &jerr),
               "batch " + batch + ": subscribe to results", jerr);
    struct SubGuard {
        natsSubscription *s;
        ~SubGuard() {
            natsSubscription_Unsubscribe(s);
            natsSubscription_Destroy(s);
        }
    } guard{sub};

    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool caught_up = false;                   // every result stored before we asked has been read
    while (!(out.complete() && caught_up)) {  // read to the end: duplicates are counted too
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
        if (caught_up && left <= 0) break;
        natsMsg *m = nullptr;
        const natsStatus s = natsSubscription_NextMsg(&m, sub, caught_up ? std::max<long long>(left, 1) : 2000);
        if (s == NATS_TIMEOUT) {
            caught_up = true;
            continue;
        }
        nats_check(s, "batch " + batch + ": read results");
        MsgPtr owned(m);
        const std::string index_text = header(m, "Coe-Index");
        char *end = nullptr;
        const unsigned long long index = std::strtoull(index_text.c_str(), &end, 10);
        if (index_text.empty() || *end != '\0' || index >= out.expected) continue;  // not one of ours
        const std::string line(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m)));
        if (!out.lines.emplace(static_cast<std::size_t>(index), line).second) ++out.duplicates;
        jsMsgMetaData *meta = nullptr;
        if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
            if (meta->NumPending == 0) caught_up = true;
            jsMsgMetaData_Destroy(meta);
        }
    }
    return out;
}

}  // namespace coe
