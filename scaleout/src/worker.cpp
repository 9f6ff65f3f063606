// Worker: pull a job, do it, store the result, acknowledge; see work_queue.hpp.
#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "coe/batch_consultation.hpp"
#include "coe/error.hpp"
#include "coe/panel_json.hpp"
#include "coe/report_format.hpp"
#include "in_progress_acks.hpp"
#include "nats_session.hpp"

namespace coe {

using namespace scaleout_detail;

namespace {

constexpr const char *analyze_consumer = "coe-analyze";
constexpr const char *consult_consumer = "coe-consult";

struct JobOutcome {
    std::string line;  // the result to store
    bool ok = true;
    std::int64_t retry_in_ms = 0;  // > 0: hand the job back instead (unless it is its last delivery)
};

std::int64_t ns(std::chrono::milliseconds ms) { return static_cast<std::int64_t>(ms.count()) * 1000000; }

}  // namespace

class Worker::Impl {
public:
    Impl(const Engine &engine, Circle *circle, WorkQueueOptions queue, WorkerOptions options)
        : engine_(engine), circle_(circle), session_(queue), options_(std::move(options)) {}

    void run() {
        subscribe_advisories();
        std::vector<std::thread> threads;
        for (unsigned i = 0; i < std::max(1u, options_.threads); ++i) {
            threads.emplace_back([this] { pull(JobKind::analyze); });
            if (circle_) threads.emplace_back([this] { pull(JobKind::consult); });
        }
        for (auto &t : threads) t.join();
        if (advisories_) {
            natsSubscription_Unsubscribe(advisories_);
            natsSubscription_Destroy(advisories_);
            advisories_ = nullptr;
        }
    }
    void stop() { stopping_ = true; }

private:
    natsSubscription *subscribe(JobKind kind) {
        const std::string durable = kind == JobKind::analyze ? analyze_consumer : consult_consumer;
        const std::string filter = jobs_subject(kind, "*");
        jsSubOptions so;
        jsSubOptions_Init(&so);
        so.Stream = session_.queue().jobs_stream.c_str();
        so.Config.Durable = durable.c_str();
        so.Config.AckPolicy = js_AckExplicit;
        so.Config.AckWait = ns(session_.queue().ack_wait);
        so.Config.MaxDeliver = session_.queue().max_deliver;
        so.Config.FilterSubject = filter.c_str();
        natsSubscription *sub = nullptr;
        jsErrCode jerr = static_cast<jsErrCode>(0);
        natsStatus s = js_PullSubscribe(&sub, session_.js(), filter.c_str(), durable.c_str(), nullptr, &so, &jerr);
        if (s != NATS_OK) {  // it exists with other settings (another worker's): use it as it is
            jsSubOptions_Init(&so);
            so.Stream = session_.queue().jobs_stream.c_str();
            so.Consumer = durable.c_str();
            s = js_PullSubscribe(&sub, session_.js(), filter.c_str(), durable.c_str(), nullptr, &so, &jerr);
        }
        nats_check(s, session_.queue().url + ": consumer " + durable, jerr);
        return sub;
    }

    void pull(JobKind kind) {
        natsSubscription *sub = subscribe(kind);
        // every job fetched and not yet settled, the waiting ones too, stays ours
        InProgressAcks in_progress(InProgressAcks::interval_for(session_.queue().ack_wait));
        while (!stopping_) {
            natsMsgList list{nullptr, 0};
            jsErrCode jerr = static_cast<jsErrCode>(0);
            // a few at a time: fewer round trips; a worker that dies holds them until ack_wait
            const natsStatus s = natsSubscription_Fetch(&list, sub, 4, 1000, &jerr);
            if (s == NATS_TIMEOUT) continue;
            if (s != NATS_OK) {  // the server is away: the client reconnects; ask again soon
                std::this_thread::sleep_for(std::chrono::milliseconds(200));
                continue;
            }
            for (int i = 0; i < list.Count; ++i) in_progress.add(list.Msgs[i]);
            for (int i = 0; i < list.Count; ++i) {
                if (stopping_) {  // hand the rest back at once rather than after ack_wait
                    in_progress.release(list.Msgs[i]);
                    natsMsg_Nak(list.Msgs[i], nullptr);
                    continue;
                }
                handle(kind, list.Msgs[i], in_progress);
            }
            for (int i = 0; i < list.Count; ++i) in_progress.release(list.Msgs[i]);  // before they are freed
            natsMsgList_Destroy(&list);
        }
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }

    // Does one job; `in_progress` holds it until it is settled here.
    void handle(JobKind kind, natsMsg *msg, InProgressAcks &in_progress) {
        const std::string batch = header(msg, "Coe-Batch");
        const std::string index = header(msg, "Coe-Index");
        const std::size_t line = std::strtoull(header(msg, "Coe-Line").c_str(), nullptr, 10);
        std::uint64_t delivered = 1;
        jsMsgMetaData *meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
            delivered = meta->NumDelivered;
            jsMsgMetaData_Destroy(meta);
        }
        const bool last_chance = delivered >= session_.queue().max_deliver;
        const std::string body(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
        JobOutcome outcome;
        try {
            outcome = kind == JobKind::analyze ? analyze(body, batch, line) : consult(body, batch, line);
        } catch (const std::exception &e) {  // not the input's fault: perhaps the next delivery does better
            outcome = {error_json(line, batch + ":" + std::to_string(line) + ": failed on delivery " +
                                            std::to_string(delivered) + " of " +
                                            std::to_string(session_.queue().max_deliver) + ": " + e.what()),
                       false, 1000};
        }
        if (outcome.retry_in_ms > 0 && !last_chance) {
            in_progress.release(msg);
            natsMsg_NakWithDelay(msg, outcome.retry_in_ms, nullptr);  // milliseconds
            return;
        }
        try {
            store(batch, index, outcome.line);
        } catch (const std::exception &e) {  // not stored: not acknowledged; delivered again after ack_wait
            in_progress.release(msg);
            std::fprintf(stderr, "coe worker: %s\n", e.what());
            return;
        }
        in_progress.release(msg);
        // The result is stored: acknowledge.  Should the ack be lost, the job
        // runs again and its second result is dropped as a duplicate.
        natsMsg_Ack(msg, nullptr);
        if (options_.on_job) options_.on_job(batch, std::strtoull(index.c_str(), nullptr, 10), outcome.ok);
    }

    JobOutcome analyze(const std::string &body, const std::string &batch, std::size_t line) {
        const std::string where = batch + ":" + std::to_string(line);
        try {
            return {to_json(engine_.analyze(parse_panel(body, where).view())), true, 0};
        } catch (const Error &e) {  // the panel's own fault: the same on every delivery
            return {error_json(line, e.what()), false, 0};
        }
    }

    // A consult job is a line of a `coe consult --batch` file (coe/batch_consultation.hpp).
    JobOutcome consult(const std::string &body, const std::string &batch, std::size_t line) {
        const BatchQuestion q = parse_batch_question(body, line);
        const std::string where = batch + ":" + std::to_string(line) + ": ";
        if (!q.error.empty()) return {error_json(line, where + q.error), false, 0};
        const auto &configured = circle_->experts().experts;
        for (const std::string &name : q.experts)  // the line's own fault: the same on every delivery
            if (std::none_of(configured.begin(), configured.end(), [&](const auto &e) { return e.name == name; }))
                return {error_json(line, where + "experts: no expert named '" + name + "' is configured"), false, 0};
        const ConsultOptions options = batch_question_options(q, options_.consult);
        const ConsultationResult r = circle_->consult(q.text, options);
        bool rate_limited = false;
        for (const auto &a : r.answers) rate_limited = rate_limited || a.status == "rate_limited";
        JobOutcome out{to_json(r), r.quorum_met, 0};
        if (!r.quorum_met && rate_limited) out.retry_in_ms = options_.rate_limited_delay.count();  // come back later
        return out;
    }

    void store(const std::string &batch, const std::string &index, const std::string &line) {
        publish_stored(session_.js(), results_subject(batch), batch + "." + index, line, {{"Coe-Index", index}});
    }

    // A job that reached max_deliver without being acknowledged (its workers
    // crashed or hung every time) ends as an error result; one worker of
    // the queue group handles each advisory.
    void subscribe_advisories() {
        const std::string subject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES." + session_.queue().jobs_stream + ".*";
        nats_check(natsConnection_QueueSubscribe(&advisories_, session_.connection(), subject.c_str(), "coe-advisories",
                                                 &Impl::on_advisory, this),
                   "subscribe to " + subject);
    }
    static void on_advisory(natsConnection *, natsSubscription *, natsMsg *msg, void *closure) {
        auto *self = static_cast<Impl *>(closure);
        MsgPtr owned(msg);
        boost::json::error_code ec;
        const auto doc = boost::json::parse(
            std::string_view(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg))), ec);
        const auto *seq = !ec && doc.is_object() ? doc.as_object().if_contains("stream_seq") : nullptr;
        if (!seq || !seq->is_number()) return;
        const std::uint64_t stream_seq = seq->to_number<std::uint64_t>();
        const std::string &stream = self->session_.queue().jobs_stream;
        natsMsg *job = nullptr;
        if (js_GetMsg(&job, self->session_.js(), stream.c_str(), stream_seq, nullptr, nullptr) != NATS_OK) return;
        MsgPtr job_owned(job);
        const std::string batch = header(job, "Coe-Batch"), index = header(job, "Coe-Index");
        const std::size_t line = std::strtoull(header(job, "Coe-Line").c_str(), nullptr, 10);
        try {
            self->store(batch, index,
                        error_json(line, batch + ":" + std::to_string(line) + ": delivered " +
                                             std::to_string(self->session_.queue().max_deliver) +
                                             " times and never finished (its workers crashed or hung on it)"));
            js_DeleteMsg(self->session_.js(), stream.c_str(), stream_seq, nullptr, nullptr);
        } catch (const std::exception &e) {
            std::fprintf(stderr, "coe worker: %s\n", e.what());
        }
    }

    const Engine &engine_;
    Circle *circle_;
    NatsSession session_;
    WorkerOptions options_;
    std::atomic<bool> stopping_{false};
    natsSubscription *advisories_ = nullptr;
};

Worker::Worker(const Engine &engine, Circle *circle, WorkQueueOptions queue, WorkerOptions options)
    : impl_(std::make_unique<Impl>(engine, circle, std::move(queue), std::move(options))) {}
Worker::~Worker() = default;
void Worker::run() { impl_->run(); }
void Worker::stop() { impl_->stop(); }

}  // namespace coe
