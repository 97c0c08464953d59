import {Args, Flags} from '@oclif/core'
import {nameAdmin} from '../../services/names.js'
import {OuroCommand} from '../../cli/base-command.js'

export default class NameCreate extends OuroCommand {
  static override summary = 'Create an Ouroboros name (native), optionally with encryption and registrations'
  static override description =
    'What `irm name create` does, plus: --cipher writes the client and server enc.conf for the name ' +
    '(encryption is set per name on Ouroboros 0.22+; 0.23\'s IRMd does not always read them for a name it was told to create, ' +
    'its log says "Negotiated" when it encrypts), --layer registers it in layers right away.'

  static override examples = [
    '<%= config.bin %> name create myapp',
    '<%= config.bin %> name create myapp --cipher aes-256-gcm --layer local-layer',
  ]

  static override enableJsonFlag = true
  static override args = {name: Args.string({description: 'the name', required: true})}
  static override flags = {
    policy: Flags.string({description: 'load balancing among processes bound to the name', options: ['round-robin', 'spillover'], default: 'round-robin'}),
    cipher: Flags.string({description: 'write enc.conf files selecting this cipher (aes-128-gcm, aes-192-gcm, aes-256-gcm, chacha20-poly1305)'}),
    layer: Flags.string({char: 'l', description: 'register the name in this layer (repeatable; "all" for every layer)', multiple: true}),
  }

  async run(): Promise<{name: string; done: string[]}> {
    const {args, flags} = await this.parse(NameCreate)
    const {createNameAdmin, regNameAdmin} = await nameAdmin()
    const all = flags.layer?.includes('all') ?? false
    const done = await createNameAdmin(args.name, {
      policy: flags.policy as 'round-robin' | 'spillover',
      cipher: flags.cipher,
      layers: all ? undefined : flags.layer,
    })
    if (all) done.push(...(await regNameAdmin(args.name)))
    if (!flags.json) for (const line of done) this.log(line)
    return {name: args.name, done}
  }
}
