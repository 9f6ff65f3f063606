// Engine::analyze_stream: a bounded window of panels, analysed by worker
// threads, handed back in input order as soon as the head of the window is
// done.  The caller's thread reads, parses and writes; workers only analyse.
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "coe/engine.hpp"

namespace coe {
namespace {

struct Slot {
    PanelLine input;
    Engine::BatchResult result;
    bool done = false;
};

// The result of `input` into `r`, whose report (if it holds one) is reused:
// results are recycled from panel to panel, so the analysis allocates no
// report storage in steady state.
void analyze_one(const Engine &engine, const PanelLine &input, const AnalysisOptions &options, Engine::BatchResult &r) {
    r.error.clear();
    if (const auto *error = std::get_if<std::string>(&input.panel_or_error)) {
        r.report.reset();
        r.error = *error;
        return;
    }
    try {
        if (!r.report) r.report.emplace();
        engine.analyze_into(std::get<Panel>(input.panel_or_error).view(), *r.report, options);
    } catch (const std::exception &e) {
        r.report.reset();
        r.error = e.what();
    } catch (...) {
        r.report.reset();
        r.error = "unknown error";
    }
}

}  // namespace

void Engine::analyze_stream(const NextPanel &next, const EmitResult &emit, const AnalysisOptions &options,
                            unsigned threads, std::size_t window) const {
    const unsigned workers = threads > 0 ? threads : std::max(1u, std::thread::hardware_concurrency());
    if (workers == 1) {
        Engine::BatchResult result;
        while (std::optional<PanelLine> input = next()) {
            analyze_one(*this, *input, options, result);
            emit(*input, result);
        }
        return;
    }
    if (window == 0) window = 4 * static_cast<std::size_t>(workers);

    std::mutex mutex;
    std::condition_variable work_ready, slot_done;
    std::deque<Slot> slots;                          // the window: slots.front() is the next to emit
    std::vector<Engine::BatchResult> spare_results;  // emitted ones, for the next slots
    std::size_t first_pending = 0;                   // index in `slots` of the first input no worker took yet
    bool closing = false;
    std::vector<std::thread> pool;
    auto work = [&] {
        std::unique_lock<std::mutex> lock(mutex);
        for (;;) {
            work_ready.wait(lock, [&] { return closing || first_pending < slots.size(); });
            if (first_pending >= slots.size()) return;  // closing, nothing left
            Slot &slot = slots[first_pending++];        // deque: references survive push_back/pop_front
            lock.unlock();
            // nobody else touches the slot's result until it is done
            analyze_one(*this, slot.input, options, slot.result);
            lock.lock();
            slot.done = true;
            slot_done.notify_all();
        }
    };
    auto stop = [&] {
        {
            std::lock_guard<std::mutex> lock(mutex);
            closing = true;
        }
        work_ready.notify_all();
        for (auto &t : pool) t.join();
    };
    pool.reserve(workers);
    for (unsigned i = 0; i < workers; ++i) pool.emplace_back(work);
    try {
        bool input_left = true;
        for (;;) {
            // fill the window
            while (input_left) {
                {
                    std::lock_guard<std::mutex> lock(mutex);
                    if (slots.size() >= window) break;
                }
                std::optional<PanelLine> input = next();
                if (!input) {
                    input_left = false;
                    break;
                }
                std::lock_guard<std::mutex> lock(mutex);
                slots.push_back(Slot{std::move(*input), {}, false});
                if (!spare_results.empty()) {
                    slots.back().result = std::move(spare_results.back());
                    spare_results.pop_back();
                }
                work_ready.notify_one();
            }
            // hand back the head once it is done
            std::unique_lock<std::mutex> lock(mutex);
            if (slots.empty()) break;
            slot_done.wait(lock, [&] { return slots.front().done; });
            Slot head = std::move(slots.front());
            slots.pop_front();
            --first_pending;  // every index shifts down by one (the head was taken: first_pending >= 1)
            lock.unlock();
            emit(head.input, head.result);
            lock.lock();
            spare_results.push_back(std::move(head.result));
        }
    } catch (...) {
        stop();
        throw;
    }
    stop();
}

}  // namespace coe
