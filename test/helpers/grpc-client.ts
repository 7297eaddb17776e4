// @grpc/grpc-js clients of the example services (gateway/examples/grpc), as promises.
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { protos } from '../../gateway/examples/grpc/server.ts';

export interface CallError {
  code: number;
  details: string;
}

/** A client of helloworld.Echo (and Greeter) at 127.0.0.1:port; `ca` for a TLS listener. */
export function echoClient(port: number, ca?: string) {
  const credentials = ca ? grpc.credentials.createSsl(readFileSync(ca)) : grpc.credentials.createInsecure();
  // The listener's certificate names api.test; the connection goes to the address.
  const options = ca ? { 'grpc.ssl_target_name_override': 'api.test' } : {};
  const echo = new protos.echo.helloworld.Echo(`127.0.0.1:${port}`, credentials, options);
  const greeter = new protos.echo.helloworld.Greeter(`127.0.0.1:${port}`, credentials, options);
  const md = (meta: Record<string, string>) => {
    const m = new grpc.Metadata();
    for (const [k, v] of Object.entries(meta)) m.set(k, v);
    return m;
  };
  return {
    unary: (req: object, meta: Record<string, string> = {}, deadlineMs?: number): Promise<any> =>
      new Promise((resolve, reject) =>
        echo.Unary(req, md(meta), deadlineMs ? { deadline: Date.now() + deadlineMs } : {}, (err: any, res: any) =>
          err ? reject(err) : resolve(res),
        ),
      ),
    sayHello: (name: string): Promise<any> =>
      new Promise((resolve, reject) =>
        greeter.SayHello({ name }, (err: any, res: any) => (err ? reject(err) : resolve(res))),
      ),
    serverStream: (req: object, meta: Record<string, string> = {}): Promise<{ replies: any[]; error?: CallError }> =>
      new Promise((resolve) => {
        const replies: any[] = [];
        const call = echo.ServerStream(req, md(meta));
        call.on('data', (r: any) => replies.push(r));
        call.on('error', (error: CallError) => resolve({ replies, error }));
        call.on('end', () => resolve({ replies }));
      }),
    clientStream: (messages: string[], meta: Record<string, string> = {}): Promise<any> =>
      new Promise((resolve, reject) => {
        const call = echo.ClientStream(md(meta), (err: any, res: any) => (err ? reject(err) : resolve(res)));
        for (const message of messages) call.write({ message });
        call.end();
      }),
    bidi: (messages: string[]): Promise<any[]> =>
      new Promise((resolve, reject) => {
        const replies: any[] = [];
        const call = echo.Bidi();
        call.on('data', (r: any) => {
          replies.push(r);
          // One at a time: each request goes once the previous reply came back.
          if (replies.length < messages.length) call.write({ message: messages[replies.length] });
          else call.end();
        });
        call.on('error', reject);
        call.on('end', () => resolve(replies));
        call.write({ message: messages[0] });
      }),
    close: () => {
      echo.close();
      greeter.close();
    },
  };
}
