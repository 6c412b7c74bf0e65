(function(){
var tabs=document.querySelectorAll('nav.tabs a'),secs=document.querySelectorAll('section.view');
if(!secs.length)return;
function show(id){secs.forEach(function(s){s.hidden=s.id!==id});
tabs.forEach(function(a){a.classList.toggle('on',a.getAttribute('href')==='#'+id)});}
function route(){var t=location.hash?document.getElementById(decodeURIComponent(location.hash.slice(1))):null;
var v=t?(t.classList.contains('view')?t:t.closest('section.view')):null;
show(v?v.id:secs[0].id);if(t&&t!==v)t.scrollIntoView();}
window.addEventListener('hashchange',route);route();
var c=document.getElementById('controls');if(!c)return;c.hidden=false;
var q=document.getElementById('q'),sev=document.getElementById('sev');
function filter(){var text=q.value.toLowerCase(),s=sev.value;
document.querySelectorAll('table.fl tbody tr').forEach(function(r){
var ok=(!text||r.textContent.toLowerCase().indexOf(text)>=0)
&&(!s||(' '+r.className+' ').indexOf(' '+s+' ')>=0);
r.hidden=!ok;});}
q.addEventListener('input',filter);sev.addEventListener('change',filter);
})();
