#!/usr/bin/env bash
# The release tags for the version in package.json: vX.Y.Z on this commit (created once, never
# moved) and the major tag vX moved to it, the way GitHub's guide for action versioning asks
# (docs.github.com "About custom actions: Using release management for actions"). Pushes them to
# `origin`, or with DRY_RUN=1 prints what it would push and changes nothing.
# Refuses a version whose tag already names another commit, and a pre-release moving a major tag.
set -euo pipefail

version=$(node -p "require('./package.json').version")
if ! [[ "$version" =~ ^([0-9]+)\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "::error::package.json version \"$version\" is not X.Y.Z" >&2
  exit 1
fi
major="v${BASH_REMATCH[1]}"
prerelease="${BASH_REMATCH[2]}"
tag="v$version"
head=$(git rev-parse HEAD)

git fetch --quiet --tags --force origin
existing=$(git rev-parse --quiet --verify "refs/tags/$tag^{commit}" || true)
if [ -n "$existing" ] && [ "$existing" != "$head" ]; then
  echo "::error::$tag already names $existing, not this commit ($head): bump the version (npx changeset version) first." >&2
  exit 1
fi

refs=()
[ -n "$existing" ] || refs+=("refs/tags/$tag")
[ -n "$prerelease" ] || refs+=("+refs/tags/$major")
if [ "${#refs[@]}" = 0 ]; then
  echo "$tag is already released on this commit; nothing to push."
  exit 0
fi

for ref in "${refs[@]}"; do
  name=${ref#+}
  echo "tag: ${name#refs/tags/} -> $head$([ "${ref:0:1}" = + ] && echo ' (moved)')"
done
if [ "${DRY_RUN:-}" = 1 ]; then
  echo 'dry run: nothing tagged or pushed.'
  exit 0
fi

[ -n "$existing" ] || git -c user.name="github-actions[bot]" -c user.email="41898282+github-actions[bot]@users.noreply.github.com" \
  tag -a -m "$tag" "$tag" "$head"
[ -n "$prerelease" ] || git tag -f "$major" "$head" >/dev/null
git push --quiet origin "${refs[@]}"
echo "pushed to origin."
