#include "providers/providers.hpp"

namespace coe::net {

const Provider &provider_for(ProviderKind kind) {
    static const std::unique_ptr<Provider> openai = make_openai_provider(), ollama = make_ollama_provider(),
                                           anthropic = make_anthropic_provider(), gemini = make_gemini_provider();
    switch (kind) {
    case ProviderKind::openai: return *openai;
    case ProviderKind::ollama: return *ollama;
    case ProviderKind::anthropic: return *anthropic;
    case ProviderKind::gemini: return *gemini;
    }
    return *openai;
}

}  // namespace coe::net
