#!/usr/bin/env bats
# The bash completions offer exactly the options of --help, and complete option values and
# arguments the way bash-completion's own completions do.

load '../helpers/common'

BASH_COMPLETION=/usr/share/bash-completion/bash_completion

setup() {
        [ -r "$BASH_COMPLETION" ] || skip "bash-completion not installed"
}

# complete_line LINE: prints, sorted, what <TAB> offers at the end of LINE in a bash with
# bash-completion and our completion files loaded.
complete_line() {
        bash --norc --noprofile -c '
                source "$1" || exit 1
                source "$2/completions/echod" || exit 1
                source "$2/completions/echo-client" || exit 1
                COMP_LINE=$3
                COMP_POINT=${#COMP_LINE}
                read -ra COMP_WORDS <<<"$COMP_LINE"
                [[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                spec=$(complete -p "${COMP_WORDS[0]}") || exit 1
                fn=${spec#*-F }; fn=${fn%% *}
                "$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
                printf "%s\n" "${COMPREPLY[@]}"' sh "$BASH_COMPLETION" "$ROOT" "$1" | sort
}

help_long_options() {
        "$1" --help | grep -oE -- '--[a-z][a-z-]*' | grep -vx -- '--help\|--version' | sort -u
        printf '%s\n' --help --version
}

@test "echod: -- completes to exactly the long options of --help" {
        run complete_line "echod --"
        assert_success
        assert_equal "$output" "$(help_long_options "$ECHOD" | sort)"
}

@test "echo-client: -- completes to exactly the long options of --help" {
        run complete_line "echo-client --"
        assert_success
        assert_equal "$output" "$(help_long_options "$ECHO_CLIENT" | sort)"
}

@test "echod: a prefix narrows, and a numeric option's value gets nothing" {
        run complete_line "echod --id"
        assert_output "--idle-timeout"
        run complete_line "echod --workers "
        assert_success
        assert_output ""
}

@test "echo-client: -f completes file names" {
        mkdir -p "$BATS_TEST_TMPDIR/d"
        touch "$BATS_TEST_TMPDIR/d/payload.bin" "$BATS_TEST_TMPDIR/d/other.txt"
        run complete_line "echo-client -f $BATS_TEST_TMPDIR/d/pay"
        assert_output "$BATS_TEST_TMPDIR/d/payload.bin"
}

@test "echo-client: the second argument completes TCP service names" {
        run complete_line "echo-client localhost ech"
        assert_line echo
        run complete_line "echo-client -t 5 localhost ech"
        assert_line echo
}
