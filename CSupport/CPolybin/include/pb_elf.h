/* The ELF reader: the only code that parses ELF files (builds, payload objects, fatbins).
 *
 * Reads ELF64 little-endian files (x86-64, aarch64) from a mapping (pointer + size) and trusts
 * none of it: every offset, size, count and string index is checked against the bytes present,
 * with overflow in mind, before it is used. A file that is 32-bit, big-endian, truncated or
 * lying gets a status and a one-line reason in `elf->reason` ("section 5 (.text) lies past the
 * end of the file"); the caller adds the file name. Nothing here allocates: answers point into
 * the mapping (which must outlive them) or go into arrays the caller provides.
 *
 * Split by concern, so that a program links only what it calls (an archive member is pulled in
 * only when referenced): elf/elf.c (opening, program headers, PT_INTERP: all the runner
 * needs), elf/sections.c (section headers, strings, the address map), elf/symbols.c (symbols,
 * versions, dynamic section, relocations), elf/notes.c, elf/eh_frame.c (CIEs, FDEs and the
 * function table built on them). */
#ifndef PB_ELF_H
#define PB_ELF_H
#include <stddef.h>
#include <stdint.h>

typedef enum pb_elf_status {
    PB_ELF_OK = 0,
    PB_ELF_END,             /* an iterator has no more entries (not an error) */
    PB_ELF_E_NOT_ELF,       /* no ELF magic */
    PB_ELF_E_CLASS,         /* not 64-bit */
    PB_ELF_E_ENDIAN,        /* not little-endian */
    PB_ELF_E_TRUNCATED,     /* shorter than the ELF header */
    PB_ELF_E_HEADER,        /* ELF header fields inconsistent (table sizes, counts, version) */
    PB_ELF_E_SECTION,       /* a section header, or the bytes it names, lies */
    PB_ELF_E_SEGMENT,       /* a program header, or the bytes it names, lies */
    PB_ELF_E_STRING,        /* a string index past its table, or a string without its NUL */
    PB_ELF_E_SYMBOL,        /* a symbol table is malformed */
    PB_ELF_E_DYNAMIC,       /* the dynamic section is malformed */
    PB_ELF_E_VERSION,       /* .gnu.version, .gnu.version_r or .gnu.version_d is malformed */
    PB_ELF_E_RELOCATION,    /* a relocation section is malformed */
    PB_ELF_E_NOTE,          /* a note is malformed */
    PB_ELF_E_FRAME,         /* .eh_frame is malformed (a CIE or FDE that cannot be read) */
    PB_ELF_E_NOT_FOUND,     /* no such section, segment, symbol or entry */
    PB_ELF_E_ARGUMENT       /* caller error: index out of range, array too small */
} pb_elf_status;

/* A short lower-case phrase for a status: "section header lies". */
const char *pb_elf_status_message(pb_elf_status status);

/* Constants callers compare with (the ELF gABI and psABI values). */
enum {
    PB_ET_REL = 1, PB_ET_EXEC = 2, PB_ET_DYN = 3,
    PB_EM_X86_64 = 62, PB_EM_AARCH64 = 183,
    PB_SHT_PROGBITS = 1, PB_SHT_SYMTAB = 2, PB_SHT_STRTAB = 3, PB_SHT_RELA = 4, PB_SHT_DYNAMIC = 6,
    PB_SHT_NOTE = 7, PB_SHT_NOBITS = 8, PB_SHT_REL = 9, PB_SHT_DYNSYM = 11, PB_SHT_GROUP = 17,
    PB_SHT_SYMTAB_SHNDX = 18, PB_SHT_GNU_VERDEF = 0x6ffffffd, PB_SHT_GNU_VERNEED = 0x6ffffffe,
    PB_SHT_GNU_VERSYM = 0x6fffffff,
    PB_SHF_WRITE = 0x1, PB_SHF_ALLOC = 0x2, PB_SHF_EXECINSTR = 0x4,
    PB_PT_LOAD = 1, PB_PT_DYNAMIC = 2, PB_PT_INTERP = 3, PB_PT_NOTE = 4, PB_PT_GNU_EH_FRAME = 0x6474e550,
    PB_PT_GNU_STACK = 0x6474e551, PB_PT_GNU_RELRO = 0x6474e552, PB_PT_GNU_PROPERTY = 0x6474e553,
    PB_PF_X = 1, PB_PF_W = 2, PB_PF_R = 4,
    PB_STT_NOTYPE = 0, PB_STT_OBJECT = 1, PB_STT_FUNC = 2, PB_STT_SECTION = 3, PB_STT_FILE = 4,
    PB_STT_TLS = 6, PB_STT_GNU_IFUNC = 10,
    PB_STB_LOCAL = 0, PB_STB_GLOBAL = 1, PB_STB_WEAK = 2,
    PB_SHN_UNDEF = 0, PB_SHN_ABS = 0xfff1, PB_SHN_COMMON = 0xfff2, PB_SHN_XINDEX = 0xffff,
};
/* Dynamic tags, 64-bit. */
#define PB_DT_NULL 0
#define PB_DT_NEEDED 1
#define PB_DT_STRTAB 5
#define PB_DT_STRSZ 10
#define PB_DT_SONAME 14
#define PB_DT_RPATH 15
#define PB_DT_RUNPATH 29
#define PB_DT_FLAGS 30
#define PB_DT_FLAGS_1 0x6ffffffb
#define PB_DF_1_PIE 0x08000000u

/* The ELF header, read from the first 64 bytes alone (a prefix is enough). */
typedef struct pb_elf_header {
    uint8_t elf_class;          /* 2: ELF64 (anything else is refused) */
    uint8_t data;               /* 1: little-endian (anything else is refused) */
    uint8_t os_abi;
    uint16_t type;              /* e_type: PB_ET_REL, PB_ET_EXEC, PB_ET_DYN, ... */
    uint16_t machine;           /* e_machine: PB_EM_X86_64, PB_EM_AARCH64, or another */
    uint32_t flags;
    uint64_t entry;
    uint64_t phoff, shoff;
    uint16_t phentsize, phnum;  /* e_phnum as stored (PN_XNUM resolved by pb_elf_open) */
    uint16_t shentsize, shnum, shstrndx;
} pb_elf_header;

/* Reads and checks the identity and header fields: magic, ELF64, little-endian. The tables
 * the header points at are not looked at (`size` may be a prefix of the file). */
pb_elf_status pb_elf_read_header(pb_elf_header *header, const void *bytes, uint64_t size, char *reason, size_t reason_size);

/* An opened file. Fields are read-only for callers; functions take it non-const only to write
 * `reason`. */
typedef struct pb_elf {
    const uint8_t *base;
    uint64_t size;
    pb_elf_header header;
    uint32_t segment_count;     /* program headers (e_phnum, or section 0's sh_info for PN_XNUM) */
    uint32_t section_count;     /* section headers (e_shnum, or section 0's sh_size); 0 without */
    uint32_t section_names;     /* index of the section name table (e_shstrndx or its escape) */
    char reason[160];           /* one line: why the last call failed */
} pb_elf;

/* Opening checks the header, the program header table (in the file, entries >= 56 bytes),
 * the section header table (in the file, entries >= 64 bytes) and the section name table (in
 * the file, NUL-terminated). Per-entry contents are checked when asked for. */
#define PB_ELF_OPEN_SEGMENTS_ONLY 1 /* ignore the section headers: section_count is 0 (for
                                      files whose section headers may be gone or damaged) */
pb_elf_status pb_elf_open(pb_elf *elf, const void *bytes, uint64_t size, unsigned flags);

/* ---- Sections (elf/sections.c) ---- */
typedef struct pb_elf_section {
    const char *name;           /* NUL-terminated, inside the mapping */
    uint32_t index;
    uint32_t type;
    uint64_t flags, addr, offset, size;
    uint32_t link, info;
    uint64_t align, entsize;
} pb_elf_section;

/* Section `index` (< section_count) with its name. PB_ELF_E_STRING when the name lies. */
pb_elf_status pb_elf_section_at(pb_elf *elf, uint32_t index, pb_elf_section *out);
/* The first section named `name`; PB_ELF_E_NOT_FOUND when none. */
pb_elf_status pb_elf_section_named(pb_elf *elf, const char *name, pb_elf_section *out);
/* The first section of `type` at or after index `from`; PB_ELF_E_NOT_FOUND when none. */
pb_elf_status pb_elf_section_of_type(pb_elf *elf, uint32_t type, uint32_t from, pb_elf_section *out);
/* The section's bytes in the file: PB_ELF_E_SECTION when they lie past its end or the
 * section is SHT_NOBITS (which holds none; its `size` is memory only). */
pb_elf_status pb_elf_section_bytes(pb_elf *elf, const pb_elf_section *section, const uint8_t **bytes);
/* `count` bytes at `offset` inside the section, checked against section and file. */
pb_elf_status pb_elf_section_range(pb_elf *elf, const pb_elf_section *section, uint64_t offset, uint64_t count,
                                   const uint8_t **bytes);
/* The NUL-terminated string at `offset` in the string table section `index`. */
pb_elf_status pb_elf_string(pb_elf *elf, uint32_t index, uint64_t offset, const char **out);

/* ---- Segments ---- */
typedef struct pb_elf_segment {
    uint32_t index;
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
} pb_elf_segment;

/* Program header `index` (< segment_count). It is filled in even when its file bytes lie
 * past the end of the file; the status is then PB_ELF_E_SEGMENT. */
pb_elf_status pb_elf_segment_at(pb_elf *elf, uint32_t index, pb_elf_segment *out);
/* The first segment of `type` at or after index `from`; PB_ELF_E_NOT_FOUND when none. */
pb_elf_status pb_elf_segment_of_type(pb_elf *elf, uint32_t type, uint32_t from, pb_elf_segment *out);
/* The segment's file bytes (filesz of them from offset), checked against the file. */
pb_elf_status pb_elf_segment_bytes(pb_elf *elf, const pb_elf_segment *segment, const uint8_t **bytes);
/* The PT_INTERP path (NUL-terminated inside the segment) in *path, NULL when there is none. */
pb_elf_status pb_elf_interpreter(pb_elf *elf, const char **path);

/* ---- Addresses (elf/sections.c: what function tables and instruction walks need) ---- */
/* The file offset of the `count` bytes at virtual address `address`: through the PT_LOAD
 * segment holding them in the file (executables, shared objects), or, without segments,
 * through the allocated section holding them. PB_ELF_E_NOT_FOUND when no segment or section
 * holds all `count` bytes in the file (bss, or an address outside the image). */
pb_elf_status pb_elf_address_offset(pb_elf *elf, uint64_t address, uint64_t count, uint64_t *offset);
/* The same, as a pointer into the mapping. */
pb_elf_status pb_elf_address_bytes(pb_elf *elf, uint64_t address, uint64_t count, const uint8_t **bytes);
/* 1 when [address, address + size) lies inside one executable place: a SHF_EXECINSTR
 * section when the file has section headers, a PF_X PT_LOAD segment when it has none. */
int pb_elf_is_executable_range(pb_elf *elf, uint64_t address, uint64_t size);

/* ---- Symbols (elf/symbols.c) ---- */
typedef struct pb_elf_symbols {
    uint32_t section;           /* the SHT_SYMTAB or SHT_DYNSYM section */
    uint32_t strings;           /* its string table section (sh_link) */
    uint32_t count;             /* entries, the null symbol 0 included */
    uint32_t first_global;      /* sh_info: index of the first non-local symbol */
    const uint8_t *entries;
    const uint8_t *versions;    /* .gnu.version (one uint16 per entry) for .dynsym; NULL when none */
} pb_elf_symbols;

typedef struct pb_elf_symbol {
    const char *name;           /* "" for the null symbol and unnamed ones */
    uint32_t index;
    uint8_t type;               /* PB_STT_*: PB_STT_GNU_IFUNC for an ifunc */
    uint8_t bind;               /* PB_STB_* */
    uint8_t visibility;         /* st_other & 3 */
    uint16_t section;           /* st_shndx (PB_SHN_UNDEF, PB_SHN_ABS, ...) */
    uint64_t value, size;
} pb_elf_symbol;

/* The table of `type` (PB_SHT_SYMTAB or PB_SHT_DYNSYM); PB_ELF_E_NOT_FOUND when absent. The
 * table, its string table and (for .dynsym) .gnu.version are checked here. */
pb_elf_status pb_elf_symbols_open(pb_elf *elf, uint32_t type, pb_elf_symbols *out);
/* The table in section `index` (for relocations, whose sh_link names their table). */
pb_elf_status pb_elf_symbols_in_section(pb_elf *elf, uint32_t index, pb_elf_symbols *out);
/* Symbol `index` (< symbols->count). PB_ELF_E_STRING when its name lies. */
pb_elf_status pb_elf_symbol_at(pb_elf *elf, const pb_elf_symbols *symbols, uint32_t index, pb_elf_symbol *out);
/* The first symbol named `name`, defined (st_shndx != 0) if `defined` is set. */
pb_elf_status pb_elf_symbol_named(pb_elf *elf, const pb_elf_symbols *symbols, const char *name, int defined,
                                  pb_elf_symbol *out);

/* ---- Symbol versions (elf/symbols.c) ---- */
typedef struct pb_elf_version_need {
    const char *file;           /* the library: "libc.so.6" */
    const char *name;           /* the version: "GLIBC_2.34" */
    uint16_t index;             /* vna_other: what .gnu.version entries name */
    uint16_t flags;             /* vna_flags (VER_FLG_WEAK = 2) */
    uint32_t hash;
} pb_elf_version_need;

/* Every (library, version) pair of .gnu.version_r in file order, into out[0..capacity); *count
 * is the number there is (more than capacity: PB_ELF_E_ARGUMENT, nothing missing but the
 * rest). No .gnu.version_r: PB_ELF_OK with *count 0. The chain is walked at most as many
 * steps as the section has room for, so a looping vn_next/vna_next is refused. */
pb_elf_status pb_elf_version_needs(pb_elf *elf, pb_elf_version_need *out, uint32_t capacity, uint32_t *count);
/* The version of dynamic symbol `index`: its .gnu.version index (0 local, 1 global, 2+ a
 * version) with the hidden bit stripped into *hidden, and its name from .gnu.version_r or
 * .gnu.version_d in *name (NULL for 0 and 1). PB_ELF_E_NOT_FOUND when the file has no
 * .gnu.version. */
pb_elf_status pb_elf_symbol_version(pb_elf *elf, const pb_elf_symbols *dynsym, uint32_t index, uint16_t *version,
                                    int *hidden, const char **name);

/* ---- The dynamic section (elf/symbols.c) ---- */
typedef struct pb_elf_dynamic {
    const uint8_t *entries;
    uint64_t count;             /* entries before DT_NULL (or all, without one) */
    const char *strings;        /* its string table (sh_link, or DT_STRTAB and DT_STRSZ) */
    uint64_t strings_size;
} pb_elf_dynamic;

/* The dynamic section (SHT_DYNAMIC, or PT_DYNAMIC without section headers); PB_ELF_E_NOT_FOUND
 * for a static program. */
pb_elf_status pb_elf_dynamic_open(pb_elf *elf, pb_elf_dynamic *out);
/* Entry `index` (< count). */
void pb_elf_dynamic_entry(const pb_elf_dynamic *dynamic, uint64_t index, uint64_t *tag, uint64_t *value);
/* The value of the first entry with `tag`; PB_ELF_E_NOT_FOUND when none. */
pb_elf_status pb_elf_dynamic_value(pb_elf *elf, const pb_elf_dynamic *dynamic, uint64_t tag, uint64_t *value);
/* The string a DT_NEEDED, DT_SONAME, DT_RPATH or DT_RUNPATH value names. */
pb_elf_status pb_elf_dynamic_string(pb_elf *elf, const pb_elf_dynamic *dynamic, uint64_t offset, const char **out);

/* ---- Relocations (elf/symbols.c) ---- */
typedef struct pb_elf_relocations {
    uint32_t section;           /* the SHT_RELA or SHT_REL section */
    uint32_t symbols;           /* sh_link: the symbol table the entries index (0: none) */
    uint32_t applies_to;        /* sh_info: the section patched (relocatable objects) */
    uint32_t entry_size;        /* 24 (RELA) or 16 (REL) */
    uint64_t count;
    const uint8_t *entries;
} pb_elf_relocations;

typedef struct pb_elf_relocation {
    uint64_t offset;            /* r_offset: an address, or an offset in applies_to (.o) */
    uint32_t type;              /* ELF64_R_TYPE */
    uint32_t symbol;            /* ELF64_R_SYM */
    int64_t addend;             /* 0 for SHT_REL */
} pb_elf_relocation;

enum pb_elf_relocation_kind { PB_RELOC_OTHER = 0, PB_RELOC_RELATIVE, PB_RELOC_IRELATIVE };

/* The relocations in section `index` (SHT_RELA or SHT_REL: .rela.dyn, .rela.plt, .rela.text). */
pb_elf_status pb_elf_relocations_open(pb_elf *elf, uint32_t index, pb_elf_relocations *out);
/* Entry `index` (< count). */
void pb_elf_relocation_at(const pb_elf_relocations *relocations, uint64_t index, pb_elf_relocation *out);
/* Whether `type` is `machine`'s RELATIVE (R_X86_64_RELATIVE 8, R_AARCH64_RELATIVE 1027) or
 * IRELATIVE (37, 1032). */
enum pb_elf_relocation_kind pb_elf_relocation_kind(uint16_t machine, uint32_t type);

/* ---- Notes (elf/notes.c) ---- */
typedef struct pb_elf_notes {
    const uint8_t *at, *end;
    uint64_t align;             /* 4 or 8: where name and descriptor are padded to */
} pb_elf_notes;

typedef struct pb_elf_note {
    const char *name;           /* "GNU"; NUL-terminated inside the note (name_size includes the NUL) */
    uint32_t name_size;
    uint32_t type;
    const uint8_t *desc;
    uint32_t desc_size;
} pb_elf_note;

/* Notes of a SHT_NOTE section or a PT_NOTE segment. */
pb_elf_status pb_elf_notes_in_section(pb_elf *elf, const pb_elf_section *section, pb_elf_notes *out);
pb_elf_status pb_elf_notes_in_segment(pb_elf *elf, const pb_elf_segment *segment, pb_elf_notes *out);
/* The next note; PB_ELF_END after the last, PB_ELF_E_NOTE for one whose sizes lie. */
pb_elf_status pb_elf_note_next(pb_elf *elf, pb_elf_notes *notes, pb_elf_note *out);

/* What the GNU notes say, from every SHT_NOTE section (or, without sections, PT_NOTE segment). */
typedef struct pb_elf_gnu_notes {
    int has_abi_tag;            /* NT_GNU_ABI_TAG: the minimum kernel, "OS: Linux, ABI: 3.2.0" */
    uint32_t abi_os, abi_major, abi_minor, abi_patch;
    const uint8_t *build_id;    /* NT_GNU_BUILD_ID, NULL when none */
    uint32_t build_id_size;
    /* NT_GNU_PROPERTY_TYPE_0 */
    int has_x86_isa_needed;     /* GNU_PROPERTY_X86_ISA_1_NEEDED: bit 0 baseline, 1 v2, 2 v3, 3 v4 */
    uint32_t x86_isa_needed;
    int has_x86_isa_used;       /* GNU_PROPERTY_X86_ISA_1_USED */
    uint32_t x86_isa_used;
    uint32_t x86_features;      /* GNU_PROPERTY_X86_FEATURE_1_AND: 1 IBT, 2 SHSTK */
    uint32_t aarch64_features;  /* GNU_PROPERTY_AARCH64_FEATURE_1_AND: 1 BTI, 2 PAC */
} pb_elf_gnu_notes;

pb_elf_status pb_elf_read_gnu_notes(pb_elf *elf, pb_elf_gnu_notes *out);

/* ---- .eh_frame (elf/eh_frame.c) ---- */
typedef struct pb_elf_frames {
    const uint8_t *bytes;       /* the .eh_frame section */
    uint64_t size;
    uint64_t address;           /* its sh_addr: what pcrel pointers are relative to */
    uint64_t data_base;         /* .got's address: what datarel pointers are relative to */
    uint64_t next;              /* offset of the next entry to read */
} pb_elf_frames;

typedef struct pb_elf_cie {
    uint64_t offset;            /* in .eh_frame */
    uint8_t version;
    const char *augmentation;   /* "zR", "zPLR", ...; NUL-terminated inside the CIE */
    uint64_t code_align;
    int64_t data_align;
    uint64_t return_register;
    uint8_t fde_encoding;       /* 'R': DW_EH_PE_* of FDE addresses (absptr without it) */
    uint8_t lsda_encoding;      /* 'L': DW_EH_PE_omit (0xff) without it */
    uint8_t personality_encoding;
    uint64_t personality;       /* 'P': the personality routine's pointer, decoded */
    int signal_frame;           /* 'S' */
    const uint8_t *instructions;  /* the initial call frame instructions */
    uint64_t instructions_size;
} pb_elf_cie;

typedef struct pb_elf_fde {
    uint64_t offset;            /* in .eh_frame */
    uint64_t length;            /* of the entry after its length field */
    pb_elf_cie cie;
    uint64_t start, size;       /* the function: pc_begin decoded (pcrel applied) and pc_range */
    uint64_t lsda;              /* 0 when none */
    const uint8_t *instructions;
    uint64_t instructions_size;
} pb_elf_fde;

/* Starts a walk over the .eh_frame section (PB_ELF_E_NOT_FOUND when it has none). */
pb_elf_status pb_elf_frames_open(pb_elf *elf, pb_elf_frames *out);
/* The next FDE, with its CIE parsed. CIEs and zero-length entries are stepped over (as readelf
 * does: a zero length ends what the unwinder reads, and the walk goes on past it).
 * PB_ELF_END at the end of the section; PB_ELF_E_FRAME when an entry cannot be read (its
 * length runs past the section, its CIE pointer names no CIE, an encoding is unknown), with
 * out->offset naming it. The walk goes on past an entry whose length holds; nothing after a
 * lying length can be found, so every later call returns PB_ELF_END. In a relocatable object
 * pc_begin is filled in by relocations at link time: the addresses describe linked files. */
pb_elf_status pb_elf_frames_next(pb_elf *elf, pb_elf_frames *frames, pb_elf_fde *out);

typedef struct pb_elf_function {
    uint64_t start, size;
    uint64_t fde;               /* the FDE's offset in .eh_frame (set frames.next to it and call
                                   pb_elf_frames_next to read it again) */
} pb_elf_function;

enum pb_elf_frame_problem_kind {
    PB_FRAME_OVERLAP = 1,       /* starts inside the previous function (by start address) */
    PB_FRAME_OUTSIDE_CODE,      /* does not lie inside one executable section */
    PB_FRAME_BAD_ENTRY          /* cannot be read: a lying length, a CIE pointer to no CIE,
                                   an unknown encoding (the walk stops there) */
};

typedef struct pb_elf_frame_problem {
    uint32_t kind;              /* enum pb_elf_frame_problem_kind */
    uint64_t offset;            /* the FDE's offset in .eh_frame */
    uint64_t start, size;       /* the function it describes (0, 0 for PB_FRAME_BAD_ENTRY) */
} pb_elf_frame_problem;

/* The most FDEs a section of `size` bytes can hold (an entry takes at least 8): a capacity
 * that is always enough. */
uint64_t pb_elf_frames_capacity(uint64_t size);

/* The function table: every FDE's (start, size), sorted by start then size, into
 * functions[0..capacity), with *count set to the number of FDEs (more than capacity:
 * PB_ELF_E_ARGUMENT, and the array is not sorted). Problems (overlaps, FDEs outside
 * executable code, an unreadable entry) go into problems[0..problem_capacity) with
 * *problem_count set to how many there were; they do not fail the call. No .eh_frame:
 * PB_ELF_OK with *count 0. In a relocatable object (whose pc_begin fields its relocations
 * fill in) only unreadable entries are problems. */
pb_elf_status pb_elf_function_table(pb_elf *elf, pb_elf_function *functions, uint64_t capacity, uint64_t *count,
                                    pb_elf_frame_problem *problems, uint64_t problem_capacity,
                                    uint64_t *problem_count);

#endif
