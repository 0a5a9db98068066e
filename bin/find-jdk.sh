# Sourced: sets JAVA_HOME to a JDK 21 or newer (the one given, else a known location, else any in /usr/lib/jvm)
# and puts it first on PATH. Returns non-zero when there is none.
kiln_find_jdk() {
  local j
  for j in "${JAVA_HOME:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-21-jdk-amd64 /usr/lib/jvm/*; do
    if [ -n "$j" ] && [ -x "$j/bin/javac" ] && "$j/bin/java" -version 2>&1 | grep -qE 'version "(2[1-9]|[3-9][0-9])'; then
      echo "$j"
      return 0
    fi
  done
  return 1
}
if kiln_jdk=$(kiln_find_jdk); then
  export JAVA_HOME="$kiln_jdk"
  export PATH="$JAVA_HOME/bin:$PATH"
else
  false
fi
