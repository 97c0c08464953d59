import {AutocompleteCommand, shellArgs} from '../../cli/autocomplete.js'
import {fishCompletion} from '../../cli/fish-completion.js'

export default class AutocompleteScript extends AutocompleteCommand {
  static override summary = 'Print the completion setup for a shell config file (fish: the completion script)'
  static override hidden = true

  static override args = shellArgs

  async run(): Promise<void> {
    const {args} = await this.parse(AutocompleteScript)
    if (this.shellOf(args.shell) !== 'fish') return this.delegate()
    process.stdout.write(fishCompletion(this.config))
  }
}
