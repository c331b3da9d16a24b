// Watches zilla.yaml for changes with inotify, on the folder that holds it: editors that write a
// new file and rename it over the old one, and Kubernetes ConfigMap volumes (whose file is a
// symlink through `..data`, swapped by a rename in the same folder), are seen as well as writes
// in place (once the writer closes the file). Every batch of events naming the file (or the
// first part of its symlink's target) calls `on_change`, which decides from the text
// whether anything changed. Events of other files in that folder are ignored.
#pragma once

#include "fd_watch_thread.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace zb::host {

class ConfigWatcher {
 public:
  // Starts watching the folder of `path`. Thread: control. `on_change` runs on the watcher's
  // own thread.
  ConfigWatcher(const std::string& path, std::function<void()> on_change);
  ~ConfigWatcher();
  ConfigWatcher(const ConfigWatcher&) = delete;
  ConfigWatcher& operator=(const ConfigWatcher&) = delete;

  // False with `error()` when inotify could not watch the folder.
  bool ok() const { return watch_ >= 0; }
  const std::string& error() const { return error_; }
  const std::string& folder() const { return folder_; }

 private:
  void readEvents();  // Thread: the watcher.

  std::function<void()> on_change_;
  std::string folder_;
  std::vector<std::string> names_;  // the file's name in the folder, and its symlink's first part
  std::string error_;
  int inotify_fd_ = -1;
  int watch_ = -1;
  std::unique_ptr<FdWatchThread> watcher_;
};

}  // namespace zb::host
