// Minimal ELF64 little-endian reader: section headers, section names, and the
// bytes of one section.  Every offset is bounds-checked against the file size.
#include "elf_manifest.hpp"

#include <elf.h>

#include <cstring>
#include <fstream>
#include <vector>

namespace coe::detail {
namespace {

class FileReader {
public:
    explicit FileReader(const std::filesystem::path &p) : in_(p, std::ios::binary) {
        if (in_) {
            in_.seekg(0, std::ios::end);
            size_ = static_cast<std::uint64_t>(in_.tellg());
        }
    }
    bool ok() const { return static_cast<bool>(in_); }
    std::uint64_t size() const { return size_; }
    bool read(std::uint64_t offset, void *out, std::uint64_t n) {
        if (offset > size_ || n > size_ - offset) return false;
        in_.seekg(static_cast<std::streamoff>(offset));
        in_.read(static_cast<char *>(out), static_cast<std::streamsize>(n));
        return static_cast<bool>(in_);
    }

private:
    std::ifstream in_;
    std::uint64_t size_ = 0;
};

}  // namespace

std::variant<coe_plugin_manifest, std::string> read_plugin_manifest(const std::filesystem::path &file) {
    FileReader f(file);
    if (!f.ok()) return std::string("cannot open file");
    Elf64_Ehdr eh{};
    if (!f.read(0, &eh, sizeof eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return std::string("not an ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return std::string("not a 64-bit little-endian ELF file");
    if (eh.e_type != ET_DYN) return std::string("not a shared object");
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum)
        return std::string("ELF section table is malformed");

    std::vector<Elf64_Shdr> sections(eh.e_shnum);
    if (!f.read(eh.e_shoff, sections.data(), sizeof(Elf64_Shdr) * sections.size()))
        return std::string("ELF section table is truncated");
    const Elf64_Shdr &names = sections[eh.e_shstrndx];
    if (names.sh_size > f.size()) return std::string("ELF section names are truncated");
    std::vector<char> strtab(names.sh_size + 1, '\0');
    if (!f.read(names.sh_offset, strtab.data(), names.sh_size)) return std::string("ELF section names are truncated");

    for (const Elf64_Shdr &s : sections) {
        if (s.sh_name >= names.sh_size || std::strcmp(&strtab[s.sh_name], COE_MANIFEST_SECTION) != 0) continue;
        if (s.sh_type == SHT_NOBITS || s.sh_size < offsetof(coe_plugin_manifest, id))
            return std::string(COE_MANIFEST_SECTION " section is too small");
        coe_plugin_manifest m{};
        const std::uint64_t n = std::min<std::uint64_t>(s.sh_size, sizeof m);
        if (!f.read(s.sh_offset, &m, n)) return std::string(COE_MANIFEST_SECTION " section is truncated");
        if (std::memcmp(m.magic, COE_MANIFEST_MAGIC, sizeof(COE_MANIFEST_MAGIC)) != 0)
            return std::string(COE_MANIFEST_SECTION " has a bad magic number");
        if (m.struct_size < sizeof m || m.struct_size > s.sh_size)
            return std::string(COE_MANIFEST_SECTION " has a bad struct_size " + std::to_string(m.struct_size));
        m.id[sizeof m.id - 1] = m.name[sizeof m.name - 1] = m.version[sizeof m.version - 1] = '\0';
        return m;
    }
    return std::string("no " COE_MANIFEST_SECTION " section: not a coe plugin");
}

}  // namespace coe::detail
