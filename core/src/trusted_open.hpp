#pragma once

#include <string>

#include "event_loop.hpp"  // UniqueFd

namespace cellos::telemetry {

// Opens a plugin file so that the file checked is the file loaded.
//
// dlopen(path) resolves the path again, after any check made on it: a link flipped or a
// directory renamed in between, and another file is mapped as root. So the loader resolves the
// path itself, one component at a time (openat with O_PATH | O_NOFOLLOW, following links and
// ".." exactly as the kernel would), checks each step as it goes, ends with a descriptor of the
// file, and hands dlopen that descriptor (/proc/self/fd/N) rather than the path.
//
// The trust policy (sshd's StrictModes; "someone else" includes group 0):
//  - the file: a regular file owned by root or the agent's euid, writable by neither its group
//    nor others (fstat of the open descriptor);
//  - every directory the resolution passes through, and every directory of the file's real
//    path up to /: owned by root or the agent's euid, writable by neither group nor others,
//    except that a sticky directory (/tmp) may be: no one else can remove or rename what root
//    or we own in it, and whatever they own there is refused;
//  - every symbolic link followed: owned by root or the agent's euid. It sits in a directory
//    checked above, so no one else can replace it either.
// So no user but root and the agent's own can change which file is loaded. Needs /proc.
//
// Each failure throws ConfigError "PATH: ..." with PATH as given. check_trust = false (the
// developer flag --allow-untrusted-plugins) only opens the file and checks it is regular.
UniqueFd open_plugin_file(const std::string& path, bool check_trust);

// The name under which the kernel reopens an open descriptor: /proc/self/fd/N.
std::string proc_fd_path(int fd);

}  // namespace cellos::telemetry
