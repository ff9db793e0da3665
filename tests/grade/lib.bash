# Shared by tests/grade/*: what a stage's stage.mk says about its assignment.
# Sourced, not run.

# holes STAGE_DIR: the stage's holes, one a line: "FILE:FUNCTION CHAPTER#SECTION | TEST NAME",
# from the STAGE_HOLES block of its stage.mk (define STAGE_HOLES ... endef).
holes() {
	awk '/^define STAGE_HOLES/ { on = 1; next } /^endef/ { on = 0 } on && NF && !/^#/' "$1/stage.mk"
}

# unit_tests STAGE_DIR: the host-native unit tests (tests/unit/NAME.c) graded for this stage.
unit_tests() {
	sed -n 's/^STAGE_UNIT := *//p' "$1/stage.mk"
}

# slugs CHAPTER.md: the anchors of its headings, as GitHub makes them.
slugs() {
	awk '/^```/ { code = !code } !code && /^#+ / {
		s = tolower($0); sub(/^#+ /, "", s); gsub(/[^a-z0-9 _-]/, "", s); gsub(/ /, "-", s); print s }' "$1"
}

# stage_dir NN: stages/NN-name, or nothing.
stage_dir() {
	local d
	for d in "$top"/stages/"$1"-*/; do
		[ -f "$d/main.c" ] && { d=${d%/}; echo "stages/${d##*/}"; return; }
	done
}
