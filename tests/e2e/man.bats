#!/usr/bin/env bats
# The built man pages render without a warning, and each binary's --help lists exactly the
# options and exit statuses its page documents.

load '../helpers/common'
bats_require_minimum_version 1.5.0

PAGES=(man/echod.8 man/echo-client.1 man/echo.socket.8)

# Prints the section $2 of the rendered page $1 (its lines up to the next heading).
man_section() {
        mandoc -T utf8 "$1" | col -b | awk -v sec="$2" '
                /^[A-Z]/ { on = ($0 == sec); next }
                on'
}

# Option names on the tag lines of a page's OPTIONS section, one per line, sorted.
man_options() {
        man_section "$1" OPTIONS | grep -E '^ {5}-' |
                sed -E 's/^ +//' | grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z-]*' |
                tr -d ' ,' | sort -u
}

# Option names on the option lines of --help, one per line, sorted.
help_options() {
        "$1" --help | grep -E '^ +-' | sed -E 's/^ +//; s/  +.*//' |
                grep -oE -- '(^|[ ,])--?[A-Za-z][A-Za-z-]*' | tr -d ' ,' | sort -u
}

# Exit statuses a page's EXIT STATUS section lists.
man_statuses() {
        man_section "$1" "EXIT STATUS" | grep -oE '^ {5}[0-9]+' | tr -d ' ' | sort -n | paste -sd' '
}

help_statuses() {
        "$1" --help | tr '\n' ' ' | sed -E 's/.*Exit status: //' |
                grep -oE '(^|, )[0-9]+ ' | grep -oE '[0-9]+' | sort -n | paste -sd' '
}

@test "every page is built" {
        for p in "${PAGES[@]}"; do
                [ -s "$BUILD/$p" ] || fail "$BUILD/$p missing: is subdir('man') in meson.build?"
                run grep -c '@VERSION@' "$BUILD/$p"
                assert_output 0
        done
}

@test "mandoc -T lint finds nothing at warning level" {
        for p in "${PAGES[@]}"; do
                run mandoc -T lint -W warning "$BUILD/$p"
                assert_success
                assert_output ""
        done
}

@test "groff -ww renders every page without a warning" {
        for p in "${PAGES[@]}"; do
                run groff -ww -mandoc -T utf8 -z "$BUILD/$p"
                assert_success
                assert_output ""
        done
}

@test "man -l renders every page without a warning" {
        for p in "${PAGES[@]}"; do
                run --separate-stderr env MANWIDTH=80 man --warnings -l "$BUILD/$p"
                assert_success
                assert_output --partial "SEE ALSO"
                assert_equal "$stderr" ""
        done
}

@test "echod --help and echod(8) list the same options" {
        local from_help from_man
        from_help=$(help_options "$ECHOD")
        from_man=$(man_options "$BUILD/man/echod.8")
        [ "$(wc -l <<<"$from_help")" -ge 10 ] || fail "too few options parsed from --help: $from_help"
        assert_equal "$from_man" "$from_help"
}

@test "echo-client --help and echo-client(1) list the same options" {
        local from_help from_man
        from_help=$(help_options "$ECHO_CLIENT")
        from_man=$(man_options "$BUILD/man/echo-client.1")
        [ "$(wc -l <<<"$from_help")" -ge 10 ] || fail "too few options parsed from --help: $from_help"
        assert_equal "$from_man" "$from_help"
}

@test "--help and the man page list the same exit statuses" {
        assert_equal "$(help_statuses "$ECHOD")" "0 1 2 3 4 5"
        assert_equal "$(man_statuses "$BUILD/man/echod.8")" "$(help_statuses "$ECHOD")"
        assert_equal "$(man_statuses "$BUILD/man/echo-client.1")" "$(help_statuses "$ECHO_CLIENT")"
}

@test "the option comparison catches an option missing from the page" {
        local page=$BATS_TEST_TMPDIR/echod.8
        grep -v -e '^\.It Fl \\-workers Ar N$' "$BUILD/man/echod.8" >"$page"
        run man_options "$page"
        refute_line -- --workers
        assert_line -- --buffer-size
}

@test "echod(8) FILES and its inetd lines name this build's paths, and the docs it cites are installed" {
        local prefix bindir dest files
        prefix=$(meson introspect --buildoptions "$BUILD" |
                "$PY" -c 'import json, sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"])')
        bindir=$(meson introspect --buildoptions "$BUILD" |
                "$PY" -c 'import json, sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["bindir"])')
        files=$(man_section "$BUILD/man/echod.8" FILES)
        grep -qx " *$bindir/echod" <<<"$files" || fail "FILES does not name $bindir/echod: $files"
        run grep -E 'stream tcp (no)?wait nobody ' "$BUILD/man/echod.8"
        assert_equal "${#lines[@]}" 2
        for line in "${lines[@]}"; do
                [[ "$line" == *" nobody $bindir/echod echod "* ]] || fail "inetd line: $line"
        done
        # Every path under the prefix that a page cites is one `meson install` puts there.
        dest=$BATS_TEST_TMPDIR/root
        meson install -C "$BUILD" --destdir "$dest" --quiet >/dev/null 2>&1
        local page path
        for page in "$BUILD"/man/*.[18]; do
                for path in $(grep -oE "$prefix/[A-Za-z0-9_./@-]+" "$page" | sed 's/[.,;]$//' | sort -u); do
                        case $path in *'*'*) continue ;; esac
                        [ -e "$dest$path" ] || fail "${page##*/} cites $path, which meson does not install"
                done
        done
}
