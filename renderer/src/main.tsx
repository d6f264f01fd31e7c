import './zod-jitless';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { connectCore } from './api/connect-core';
import { CockpitShell } from './components/CockpitShell';
import { bindCore } from './store/bind-core';
import './styles/cockpit.css';
import './styles/health.css';
import './styles/migrations.css';

bindCore(connectCore());

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element.');
createRoot(root).render(
  <StrictMode>
    <CockpitShell />
  </StrictMode>,
);
