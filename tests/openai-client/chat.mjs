// The official openai npm package, pointed at `coe serve`: lists the models,
// asks the circle once without streaming and once streaming, and prints
// what a user of the SDK would see.  Exit 1 on anything unexpected.
//   node chat.mjs BASE_URL TOKEN
import OpenAI from "openai";

const [baseURL, apiKey] = process.argv.slice(2);
const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
const question = "How do we make the API faster?";

function fail(why) {
  console.error(`openai client: ${why}`);
  process.exit(1);
}

const models = await client.models.list();
const ids = models.data.map((m) => m.id);
if (!ids.includes("circle")) fail(`models: ${JSON.stringify(ids)}`);
console.log(`models: ${ids.join(", ")}`);

const completion = await client.chat.completions.create({
  model: "circle",
  messages: [{ role: "user", content: question }],
});
const answer = completion.choices[0].message.content;
if (!answer) fail("no answer");
if (!completion.circle || completion.circle.answers.length !== 3) fail("no circle report beside the answer");
console.log(`answer: ${answer.split("\n")[0]}`);
console.log(`usage: ${completion.usage.total_tokens} tokens, consensus ${completion.circle.consensus.level}`);

const stream = await client.chat.completions.create({
  model: "circle",
  messages: [{ role: "user", content: question }],
  stream: true,
});
let streamed = "";
let finish = null;
for await (const chunk of stream) {
  streamed += chunk.choices[0]?.delta?.content ?? "";
  finish = chunk.choices[0]?.finish_reason ?? finish;
}
if (streamed !== answer) fail(`the streamed answer differs:\n${streamed}\n---\n${answer}`);
if (finish !== "stop") fail(`finish_reason ${finish}`);
console.log(`streamed: the same answer, finish_reason ${finish}`);

try {
  await client.chat.completions.create({ model: "gpt-4o", messages: [{ role: "user", content: question }] });
  fail("an unknown model was accepted");
} catch (e) {
  if (!(e instanceof OpenAI.NotFoundError)) fail(`unknown model: ${e}`);
  console.log(`unknown model: ${e.status} ${e.code}`);
}
const denied = new OpenAI({ baseURL, apiKey: "wrong-token-0123456789", maxRetries: 0 });
try {
  await denied.models.list();
  fail("a wrong token was accepted");
} catch (e) {
  if (!(e instanceof OpenAI.AuthenticationError)) fail(`wrong token: ${e}`);
  console.log(`wrong token: ${e.status}`);
}
console.log("openai client: ok");
