#!/usr/bin/env bash
# The nightly site's branch ($REPORTS_BRANCH, default nightly-reports), kept apart from the
# committed reports/ (which holds the reports rendered on a developer's machine):
#   nightly-site.sh checkout DIR   DIR becomes a worktree of the branch: the previous nights'
#                                  reports and score history (an empty orphan on the first night)
#   nightly-site.sh publish DIR    commit what DIR holds now and push it to the branch
# Run from the repository's root, with `origin` the repository to publish to.
set -euo pipefail

branch="${REPORTS_BRANCH:-nightly-reports}"
usage="usage: $0 checkout|publish DIR"
command="${1:?$usage}"
dir="${2:?$usage}"

case "$command" in
checkout)
  if [ -e "$dir" ]; then
    echo "$0: $dir exists; the site needs a directory of its own (not reports/)" >&2
    exit 2
  fi
  if git ls-remote --exit-code --heads origin "$branch" >/dev/null; then
    git fetch -q origin "+refs/heads/$branch:refs/remotes/origin/$branch"
    git worktree add -q --detach "$dir" "origin/$branch"
  else
    git worktree add -q --detach "$dir"
    git -C "$dir" checkout -q --orphan "$branch"
    git -C "$dir" rm -rfq --ignore-unmatch .
  fi
  ;;
publish)
  source_commit="$(git rev-parse --short=12 HEAD)"
  git -C "$dir" add -A
  if git -C "$dir" rev-parse -q --verify HEAD >/dev/null && git -C "$dir" diff --cached --quiet; then
    echo "no change since the last night"
  else
    git -C "$dir" -c user.name="hpbench nightly" \
      -c user.email="hpbench-nightly@users.noreply.github.com" \
      commit -q -m "Nightly reports of $source_commit"
  fi
  git -C "$dir" push -q origin "HEAD:refs/heads/$branch"
  ;;
*)
  echo "$usage" >&2
  exit 2
  ;;
esac
