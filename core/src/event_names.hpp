#pragma once

// Who may emit which probe_source: the syntax of event names and of the patterns a probe
// declares in ct_plugin.emits, and the names the core keeps for itself.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cellos::telemetry {

// word.word[.word...]: words of [a-z0-9_], at most 63 bytes in all. Every probe_source is one.
bool is_event_name(std::string_view s);
// What a probe may declare: an event name, or PREFIX.* (PREFIX an event name or a single word),
// which covers every name that starts with "PREFIX.".
bool is_emits_entry(std::string_view s);
// agent.* and telemetry.* belong to the core: a declaration that could cover one of them.
bool is_core_owned(std::string_view entry);
// Whether a declared entry (name or pattern) covers the name.
bool covers(std::string_view entry, std::string_view name);
// Whether any entry of a NULL-terminated declaration covers the name (NULL covers nothing).
bool declared(const char* const* emits, std::string_view name);
// The same over the entries as views (an instance keeps them: emitting checks each event).
bool declared(std::span<const std::string_view> emits, std::string_view name);
std::vector<std::string_view> emits_of(const char* const* emits);
// The declaration as "a, b.*" for messages, --help and --check-config.
std::string join_emits(const char* const* emits);

}  // namespace cellos::telemetry
