import type {Command, Config} from '@oclif/core'

/** A fish string literal (single quotes; fish unescapes only \\ and \' inside them). */
function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0]!.trim()
}

/**
 * A fish completion script for every visible command of `config` (its own and its plugins'):
 * command and topic words at each level, then each command's flags (with their choices) and the
 * choices of its first argument. Commands are words separated by spaces (topicSeparator ' ').
 * Fish loads it from ~/.config/fish/completions/<bin>.fish the first time <bin> is completed.
 */
export function fishCompletion(config: Config): string {
  const bin = config.bin
  const words = `__${bin}_words`
  const at = `__${bin}_at`
  const within = `__${bin}_in`
  const commands = config.commands.filter((c) => !c.hidden)
  // Summaries may use oclif's template for the bin's name, as help renders it.
  const summaryOf = (c: {summary?: string; description?: string}): string => firstLine(c.summary ?? c.description).replaceAll('<%= config.bin %>', bin)
  const topicSummary = (id: string): string => summaryOf(config.findTopic(id) ?? {})

  // For each path of command words typed so far ('' at the start), the words that may come next.
  const next = new Map<string, Map<string, string>>()
  const ids = new Map<string, Command.Loadable>()
  for (const c of commands) for (const id of [c.id, ...c.aliases]) ids.set(id, c)
  for (const [id, c] of ids) {
    const parts = id.split(':')
    parts.forEach((word, i) => {
      const path = parts.slice(0, i).join(' ')
      const own = parts.slice(0, i + 1).join(':')
      const choices = next.get(path) ?? new Map<string, string>()
      next.set(path, choices)
      const command = i === parts.length - 1 ? c : ids.get(own)
      if (command || !choices.has(word)) choices.set(word, command ? summaryOf(command) : topicSummary(own))
    })
  }

  // Which command words were typed decides what comes next; flags and arguments after them do not.
  const preamble = `# fish completion for ${bin}: \`${bin} autocomplete script fish > ~/.config/fish/completions/${bin}.fish\`

# The command words typed after ${bin}, up to the first flag.
function ${words}
    set -l tokens (commandline -opc)
    set -e tokens[1]
    set -l path
    for t in $tokens
        string match -q -- '-*' $t; and break
        set -a path $t
    end
    string join ' ' -- $path
end

# True when exactly these command words were typed.
function ${at} -a path
    set -l typed (${words})
    test "$typed" = "$path"
end

# True when these command words (and maybe arguments after them) were typed.
function ${within} -a path
    set -l typed (${words})
    test "$typed" = "$path"; or string match -q -- "$path *" "$typed"
end
`
  const lines = [preamble]
  for (const [path, choices] of next) {
    for (const [word, summary] of choices) {
      lines.push(`complete -c ${bin} -f -n "${at} ${quote(path)}" -a ${quote(word)} -d ${quote(summary)}`)
    }
  }
  for (const [id, c] of ids) {
    const path = quote(id.split(':').join(' '))
    for (const [name, flag] of Object.entries(c.flags)) {
      if (flag.hidden) continue
      const parts = [`complete -c ${bin} -n "${within} ${path}"`, `-l ${name}`]
      if (flag.char) parts.push(`-s ${flag.char}`)
      if (flag.type === 'option') parts.push(flag.options?.length ? `-x -a ${quote(flag.options.join(' '))}` : '-r')
      parts.push(`-d ${quote(summaryOf(flag))}`)
      lines.push(parts.join(' '))
      if (flag.type === 'boolean' && flag.allowNo) lines.push(`complete -c ${bin} -n "${within} ${path}" -l no-${name} -d ${quote(summaryOf(flag))}`)
    }
    const first = Object.values(c.args)[0]
    if (first?.options?.length) lines.push(`complete -c ${bin} -f -n "${at} ${path}" -a ${quote(first.options.join(' '))} -d ${quote(summaryOf(first))}`)
  }
  return `${lines.join('\n')}\n`
}
