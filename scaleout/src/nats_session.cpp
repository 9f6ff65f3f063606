#include "nats_session.hpp"

#include "coe/error.hpp"

namespace coe::scaleout_detail {

void nats_check(natsStatus s, const std::string &what, jsErrCode js_error) {
    if (s == NATS_OK) return;
    std::string message = what + ": " + natsStatus_GetText(s);
    natsStatus ignored;
    const char *last = nats_GetLastError(&ignored);
    if (last != nullptr && *last != '\0') message += " (" + std::string(last) + ")";
    if (js_error != 0) message += " [JetStream error " + std::to_string(static_cast<int>(js_error)) + "]";
    throw Error(message);
}

NatsSession::NatsSession(const WorkQueueOptions &queue) : queue_(queue) {
    natsOptions *opts = nullptr;
    nats_check(natsOptions_Create(&opts), "nats options");
    natsOptions_SetURL(opts, queue_.url.c_str());
    natsOptions_SetMaxReconnect(opts, 60);  // ride out a server restart of about a minute
    const natsStatus s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    nats_check(s, "cannot connect to " + queue_.url);
    try {
        nats_check(natsConnection_JetStream(&js_, nc_, nullptr), queue_.url + ": JetStream");
        ensure_stream(queue_.jobs_stream, {"coe.jobs.>"}, true);
        ensure_stream(queue_.results_stream, {"coe.results.>", "coe.manifest.>"}, false);
    } catch (...) {
        jsCtx_Destroy(js_);
        natsConnection_Destroy(nc_);
        throw;
    }
}

NatsSession::~NatsSession() {
    jsCtx_Destroy(js_);
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
}

void NatsSession::ensure_stream(const std::string &name, std::vector<std::string> subjects, bool work_queue) {
    jsStreamInfo *info = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    if (js_GetStreamInfo(&info, js_, name.c_str(), nullptr, &jerr) == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return;  // made by an earlier run or another process
    }
    std::vector<const char *> subject_ptrs;
    for (const auto &s : subjects) subject_ptrs.push_back(s.c_str());
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = name.c_str();
    cfg.Subjects = subject_ptrs.data();
    cfg.SubjectsLen = static_cast<int>(subject_ptrs.size());
    cfg.Retention = work_queue ? js_WorkQueuePolicy : js_LimitsPolicy;
    cfg.Storage = js_FileStorage;
    cfg.Duplicates = static_cast<int64_t>(queue_.duplicate_window.count()) * 1000000;
    const natsStatus s = js_AddStream(&info, js_, &cfg, nullptr, &jerr);
    if (s == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return;
    }
    // Another process may have created it at the same moment.
    if (js_GetStreamInfo(&info, js_, name.c_str(), nullptr, nullptr) == NATS_OK) {
        jsStreamInfo_Destroy(info);
        return;
    }
    nats_check(s, queue_.url + ": cannot create stream " + name, jerr);
}

std::string jobs_subject(JobKind kind, const std::string &batch) {
    return std::string("coe.jobs.") + kind_name(kind) + "." + batch;
}
std::string results_subject(const std::string &batch) { return "coe.results." + batch; }
std::string manifest_subject(const std::string &batch) { return "coe.manifest." + batch; }
std::string message_id(const std::string &batch, std::size_t index) { return batch + "." + std::to_string(index); }
const char *kind_name(JobKind kind) { return kind == JobKind::analyze ? "analyze" : "consult"; }

void publish_stored(jsCtx *js, const std::string &subject, const std::string &id, const std::string &body,
                    const std::vector<std::pair<const char *, std::string>> &headers) {
    natsMsg *m = nullptr;
    nats_check(natsMsg_Create(&m, subject.c_str(), nullptr, body.data(), static_cast<int>(body.size())),
               "message for " + subject);
    MsgPtr owned(m);
    natsMsgHeader_Set(m, "Nats-Msg-Id", id.c_str());
    for (const auto &[k, v] : headers) natsMsgHeader_Set(m, k, v.c_str());
    jsPubAck *ack = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    const natsStatus s = js_PublishMsg(&ack, js, m, nullptr, &jerr);
    jsPubAck_Destroy(ack);
    nats_check(s, "publish " + id + " to " + subject, jerr);
}

std::string header(natsMsg *msg, const char *key) {
    const char *v = nullptr;
    return natsMsgHeader_Get(msg, key, &v) == NATS_OK && v != nullptr ? std::string(v) : std::string();
}

}  // namespace coe::scaleout_detail
