/* Notes: the iterator, and what the GNU notes say (ABI tag, build ID, GNU properties). */
#include "elf_internal.h"
#include <string.h>

enum { NT_GNU_ABI_TAG = 1, NT_GNU_BUILD_ID = 3, NT_GNU_PROPERTY_TYPE_0 = 5 };
#define GNU_PROPERTY_X86_FEATURE_1_AND 0xc0000002u
#define GNU_PROPERTY_X86_ISA_1_NEEDED 0xc0008002u
#define GNU_PROPERTY_X86_ISA_1_USED 0xc0010002u
#define GNU_PROPERTY_AARCH64_FEATURE_1_AND 0xc0000000u

static uint64_t round_up(uint64_t value, uint64_t align) { return (value + align - 1) & ~(align - 1); }

/* A walk over `size` bytes at `bytes` when `status` (of getting them) is PB_ELF_OK. */
static pb_elf_status notes_over(pb_elf_status status, pb_elf_notes *out, const uint8_t *bytes, uint64_t size, uint64_t align) {
    memset(out, 0, sizeof *out);
    if (status != PB_ELF_OK) return status;
    out->at = bytes;
    out->end = bytes + size;
    /* Names and descriptors are padded to 8 only in notes aligned to 8 (GNU properties). */
    out->align = align == 8 ? 8 : 4;
    return PB_ELF_OK;
}

pb_elf_status pb_elf_notes_in_section(pb_elf *elf, const pb_elf_section *section, pb_elf_notes *out) {
    const uint8_t *bytes = NULL;
    pb_elf_status status = pb_elf_section_bytes(elf, section, &bytes);
    return notes_over(status, out, bytes, section->size, section->align);
}

pb_elf_status pb_elf_notes_in_segment(pb_elf *elf, const pb_elf_segment *segment, pb_elf_notes *out) {
    const uint8_t *bytes = NULL;
    pb_elf_status status = pb_elf_segment_bytes(elf, segment, &bytes);
    return notes_over(status, out, bytes, segment->filesz, segment->align);
}

pb_elf_status pb_elf_note_next(pb_elf *elf, pb_elf_notes *notes, pb_elf_note *out) {
    memset(out, 0, sizeof *out);
    out->name = "";
    uint64_t left = (uint64_t)(notes->end - notes->at);
    if (left == 0) return PB_ELF_END;
    if (left < 12) {
        notes->at = notes->end;
        return pb_elf_fail(elf, PB_ELF_E_NOTE, "a note header cut short (%llu of 12 bytes)", (unsigned long long)left);
    }
    uint32_t name_size = pb_le32(notes->at), desc_size = pb_le32(notes->at + 4);
    /* Padding is counted from the note's start, as binutils' ELF_NOTE_DESC_OFFSET does. */
    uint64_t desc_at = round_up(12 + (uint64_t)name_size, notes->align);
    if (!pb_fits(12, name_size, left) || !pb_fits(desc_at, desc_size, left)) {
        notes->at = notes->end;
        return pb_elf_fail(elf, PB_ELF_E_NOTE, "a note's name (%u bytes) and descriptor (%u bytes) run past its section or segment",
                           name_size, desc_size);
    }
    if (name_size > 0 && notes->at[12 + name_size - 1] != 0) {
        notes->at = notes->end;
        return pb_elf_fail(elf, PB_ELF_E_NOTE, "a note's name has no terminating NUL");
    }
    out->name_size = name_size;
    out->type = pb_le32(notes->at + 8);
    if (name_size > 0) out->name = (const char *)notes->at + 12;
    out->desc = notes->at + desc_at;
    out->desc_size = desc_size;
    uint64_t next = round_up(desc_at + desc_size, notes->align);
    notes->at = next < left ? notes->at + next : notes->end;
    return PB_ELF_OK;
}

/* The properties of one NT_GNU_PROPERTY_TYPE_0 descriptor (pr_type, pr_datasz, data padded to 8). */
static pb_elf_status read_properties(pb_elf *elf, const pb_elf_note *note, pb_elf_gnu_notes *out) {
    uint64_t at = 0;
    while (at < note->desc_size) {
        if (!pb_fits(at, 8, note->desc_size)) return pb_elf_fail(elf, PB_ELF_E_NOTE, "a GNU property header cut short");
        uint32_t type = pb_le32(note->desc + at), size = pb_le32(note->desc + at + 4);
        if (!pb_fits(at + 8, size, note->desc_size))
            return pb_elf_fail(elf, PB_ELF_E_NOTE, "GNU property %#x of %u bytes runs past its note", type, size);
        const uint8_t *data = note->desc + at + 8;
        uint32_t value = size >= 4 ? pb_le32(data) : 0;
        if (size >= 4) {
            if (type == GNU_PROPERTY_X86_ISA_1_NEEDED && elf->header.machine == PB_EM_X86_64) {
                out->has_x86_isa_needed = 1;
                out->x86_isa_needed = value;
            } else if (type == GNU_PROPERTY_X86_ISA_1_USED && elf->header.machine == PB_EM_X86_64) {
                out->has_x86_isa_used = 1;
                out->x86_isa_used = value;
            } else if (type == GNU_PROPERTY_X86_FEATURE_1_AND && elf->header.machine == PB_EM_X86_64) {
                out->x86_features = value;
            } else if (type == GNU_PROPERTY_AARCH64_FEATURE_1_AND && elf->header.machine == PB_EM_AARCH64) {
                out->aarch64_features = value;
            }
        }
        at += 8 + round_up(size, 8);
    }
    return PB_ELF_OK;
}

static pb_elf_status read_gnu_notes(pb_elf *elf, pb_elf_notes *notes, pb_elf_gnu_notes *out) {
    pb_elf_note note;
    pb_elf_status status;
    while ((status = pb_elf_note_next(elf, notes, &note)) == PB_ELF_OK) {
        if (strcmp(note.name, "GNU") != 0) continue;
        if (note.type == NT_GNU_ABI_TAG && note.desc_size >= 16) {
            out->has_abi_tag = 1;
            out->abi_os = pb_le32(note.desc);
            out->abi_major = pb_le32(note.desc + 4);
            out->abi_minor = pb_le32(note.desc + 8);
            out->abi_patch = pb_le32(note.desc + 12);
        } else if (note.type == NT_GNU_BUILD_ID) {
            out->build_id = note.desc;
            out->build_id_size = note.desc_size;
        } else if (note.type == NT_GNU_PROPERTY_TYPE_0 && (status = read_properties(elf, &note, out)) != PB_ELF_OK) {
            return status;
        }
    }
    return status == PB_ELF_END ? PB_ELF_OK : status;
}

pb_elf_status pb_elf_read_gnu_notes(pb_elf *elf, pb_elf_gnu_notes *out) {
    memset(out, 0, sizeof *out);
    pb_elf_notes notes;
    pb_elf_status status;
    if (elf->section_count > 0) {
        for (uint32_t i = 0; i < elf->section_count; i++) {
            pb_elf_section section;
            if ((status = pb_elf_section_at(elf, i, &section)) != PB_ELF_OK) return status;
            if (section.type != PB_SHT_NOTE) continue;
            if ((status = pb_elf_notes_in_section(elf, &section, &notes)) != PB_ELF_OK ||
                (status = read_gnu_notes(elf, &notes, out)) != PB_ELF_OK)
                return status;
        }
        return PB_ELF_OK;
    }
    for (uint32_t i = 0; i < elf->segment_count; i++) {
        pb_elf_segment segment;
        status = pb_elf_segment_at(elf, i, &segment);
        if (segment.type != PB_PT_NOTE) continue;
        if (status != PB_ELF_OK || (status = pb_elf_notes_in_segment(elf, &segment, &notes)) != PB_ELF_OK ||
            (status = read_gnu_notes(elf, &notes, out)) != PB_ELF_OK)
            return status;
    }
    return PB_ELF_OK;
}
