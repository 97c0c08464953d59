import {Flags} from '@oclif/core'
import {AutocompleteCommand, shellArgs} from '../../cli/autocomplete.js'

export default class Autocomplete extends AutocompleteCommand {
  static override summary = 'Set up tab completion of commands and flags in bash, zsh or fish'
  static override description =
    'Prints the setup steps for the shell (bash, zsh and powershell through oclif; fish through a script in ' +
    "fish's completions directory). After an upgrade of ouro: --refresh-cache for bash and zsh, the fish step again for fish."

  static override examples = ['<%= config.bin %> autocomplete', '<%= config.bin %> autocomplete bash', '<%= config.bin %> autocomplete fish']

  static override args = shellArgs

  static override flags = {
    'refresh-cache': Flags.boolean({char: 'r', description: 'rebuild the bash/zsh completion cache (without the setup steps)'}),
  }

  async run(): Promise<void> {
    const {args, flags} = await this.parse(Autocomplete)
    const shell = this.shellOf(args.shell)
    if (shell !== 'fish') return this.delegate()
    if (flags['refresh-cache']) return
    const {bin} = this.config
    this.log(`
Setup Instructions for ${bin.toUpperCase()} CLI Autocomplete in fish
==============================================

1) Run this command in your terminal window:

  mkdir -p ~/.config/fish/completions; ${bin} autocomplete script fish > ~/.config/fish/completions/${bin}.fish

  fish loads that file the first time you complete ${bin}; run it again after an upgrade of ${bin}.

2) Start using autocomplete:

  ${bin} <TAB>                  # Command completion
  ${bin} command --<TAB>        # Flag completion
`)
  }
}
