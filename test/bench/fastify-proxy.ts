// fastify + @fastify/http-proxy with its defaults (undici, 128 connections).
// Usage: node test/bench/fastify-proxy.ts PORT UPSTREAM_ORIGIN
import Fastify from 'fastify';
import proxy from '@fastify/http-proxy';

const port = Number(process.argv[2]);
const app = Fastify({ logger: false });
await app.register(proxy, { upstream: process.argv[3] });
await app.listen({ port, host: '127.0.0.1' });
