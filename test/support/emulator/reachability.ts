// VPC Reachability Analyzer (EC2's query protocol), which moto_server lacks: paths, analyses that run
// for a few polls and then give the scenario's answer, and their deletion. What was created and not
// deleted stays in `emu.insights`, for tests to assert that doctor cleans up on every way out.
import type http from 'node:http';
import type { Emulator } from '../emulator.js';
import { requestId, xml } from './wire.js';

export const INSIGHTS_ACTIONS = new Set([
  'CreateNetworkInsightsPath',
  'StartNetworkInsightsAnalysis',
  'DescribeNetworkInsightsAnalyses',
  'DeleteNetworkInsightsAnalysis',
  'DeleteNetworkInsightsPath',
]);

export interface EmuReachability {
  found: boolean;
  /** AWS's explanations when no path is found. */
  explanations?: {
    code: string;
    direction?: string;
    securityGroupId?: string;
    aclId?: string;
    routeTableId?: string;
  }[];
  /** Polls answered `running` before the answer (default 1; Infinity: never done). */
  runningPolls?: number;
}

export interface EmuInsights {
  paths: Map<string, { source: string; destination?: string; destinationIp?: string; port: number }>;
  analyses: Map<string, { pathId: string; polls: number }>;
}

let counter = 0;
const newId = (prefix: string) => `${prefix}-${(++counter).toString(16).padStart(17, '0')}`;

export function reachability(
  emu: Emulator,
  action: string,
  form: URLSearchParams,
  res: http.ServerResponse,
  fail: (code: string, message: string, status?: number) => void,
) {
  const ok = (inner: string) => {
    res.writeHead(200, { 'content-type': 'text/xml;charset=UTF-8' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">` +
        `<requestId>${requestId()}</requestId>${inner}</${action}Response>`,
    );
  };
  const { paths, analyses } = emu.insights;
  switch (action) {
    case 'CreateNetworkInsightsPath': {
      const source = form.get('Source');
      if (!source) return fail('MissingParameter', 'The request must contain the parameter Source');
      const destination = form.get('Destination') ?? undefined;
      const destinationIp = form.get('DestinationIp') ?? undefined;
      if (!destination && !destinationIp) {
        return fail('InvalidParameterCombination', 'Either Destination or DestinationIp must be specified.');
      }
      const id = newId('nip');
      paths.set(id, { source, destination, destinationIp, port: Number(form.get('DestinationPort')) });
      return ok(
        `<networkInsightsPath><networkInsightsPathId>${id}</networkInsightsPathId><source>${xml(source)}</source>` +
          `<protocol>tcp</protocol></networkInsightsPath>`,
      );
    }
    case 'StartNetworkInsightsAnalysis': {
      const pathId = form.get('NetworkInsightsPathId') ?? '';
      if (!paths.has(pathId)) return fail('InvalidNetworkInsightsPathId.NotFound', `The path ${pathId} does not exist`);
      const id = newId('nia');
      analyses.set(id, { pathId, polls: 0 });
      return ok(
        `<networkInsightsAnalysis><networkInsightsAnalysisId>${id}</networkInsightsAnalysisId>` +
          `<networkInsightsPathId>${pathId}</networkInsightsPathId><status>running</status></networkInsightsAnalysis>`,
      );
    }
    case 'DescribeNetworkInsightsAnalyses': {
      const ids = [...form.entries()].filter(([k]) => k.startsWith('NetworkInsightsAnalysisId.')).map(([, v]) => v);
      const answer = emu.scenario.reachability ?? { found: true };
      const items = ids.flatMap((id) => {
        const a = analyses.get(id);
        if (!a) return [];
        a.polls++;
        const running = a.polls <= (answer.runningPolls ?? 1);
        const explanations = (answer.found ? [] : (answer.explanations ?? []))
          .map(
            (e) =>
              `<item><explanationCode>${xml(e.code)}</explanationCode>` +
              (e.direction ? `<direction>${e.direction}</direction>` : '') +
              (e.securityGroupId ? `<securityGroup><id>${e.securityGroupId}</id></securityGroup>` : '') +
              (e.aclId ? `<acl><id>${e.aclId}</id></acl>` : '') +
              (e.routeTableId ? `<routeTable><id>${e.routeTableId}</id></routeTable>` : '') +
              '</item>',
          )
          .join('');
        return [
          `<item><networkInsightsAnalysisId>${id}</networkInsightsAnalysisId>` +
            `<networkInsightsPathId>${a.pathId}</networkInsightsPathId>` +
            (running
              ? '<status>running</status>'
              : `<status>succeeded</status><networkPathFound>${answer.found}</networkPathFound>` +
                `<explanationSet>${explanations}</explanationSet>`) +
            '</item>',
        ];
      });
      return ok(`<networkInsightsAnalysisSet>${items.join('')}</networkInsightsAnalysisSet>`);
    }
    case 'DeleteNetworkInsightsAnalysis': {
      const id = form.get('NetworkInsightsAnalysisId') ?? '';
      if (!analyses.delete(id))
        return fail('InvalidNetworkInsightsAnalysisId.NotFound', `The analysis ${id} does not exist`);
      return ok(`<networkInsightsAnalysisId>${id}</networkInsightsAnalysisId>`);
    }
    default: {
      const id = form.get('NetworkInsightsPathId') ?? '';
      if ([...analyses.values()].some((a) => a.pathId === id)) {
        return fail('DependencyViolation', `The path ${id} has analyses: delete them first`);
      }
      if (!paths.delete(id)) return fail('InvalidNetworkInsightsPathId.NotFound', `The path ${id} does not exist`);
      return ok(`<networkInsightsPathId>${id}</networkInsightsPathId>`);
    }
  }
}
